//! KV requests: PUT_KV_CONFIG, GET_KV_CONFIG, DELETE_KV_CONFIG and GET_KVLIST_BY_NAMESPACE.
//! Changes are on disk before the reply is sent. GET_KV_CONFIG answers in the `value` reply
//! header; GET_KVLIST_BY_NAMESPACE with a KVTable body (`{"table":{k:v}}`). A missing key or
//! namespace is QUERY_NOT_FOUND.

use fennec_protocol::body::KvTable;
use fennec_protocol::encode_body;
use fennec_protocol::header::{
    GetKvConfigResponseHeader, GetKvListByNamespaceRequestHeader, KvConfigKeyRequestHeader,
    PutKvConfigRequestHeader,
};
use fennec_remoting::RemotingCommand;

use super::NamesrvProcessor;
use crate::error::NamesrvError;

impl NamesrvProcessor {
    pub(super) async fn put_kv_config(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        let header: PutKvConfigRequestHeader = request.decode_header()?;
        self.kv
            .put(&header.namespace, &header.key, &header.value)
            .await?;
        Ok(RemotingCommand::success())
    }

    pub(super) fn get_kv_config(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        let header: KvConfigKeyRequestHeader = request.decode_header()?;
        match self.kv.get(&header.namespace, &header.key) {
            Some(value) => Ok(RemotingCommand::success()
                .with_header(&GetKvConfigResponseHeader { value: Some(value) })),
            None => Err(NamesrvError::KvKeyNotFound {
                namespace: header.namespace,
                key: header.key,
            }),
        }
    }

    pub(super) async fn delete_kv_config(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        let header: KvConfigKeyRequestHeader = request.decode_header()?;
        self.kv.delete(&header.namespace, &header.key).await?;
        Ok(RemotingCommand::success())
    }

    pub(super) fn kv_list_by_namespace(
        &self,
        request: &RemotingCommand,
    ) -> Result<RemotingCommand, NamesrvError> {
        let header: GetKvListByNamespaceRequestHeader = request.decode_header()?;
        match self.kv.namespace(&header.namespace) {
            Some(table) => {
                Ok(RemotingCommand::success().with_body(encode_body(&KvTable { table })))
            }
            None => Err(NamesrvError::KvNamespaceNotFound(header.namespace)),
        }
    }
}
