//! Throw-away certificates for TLS tests, made with rcgen: a CA, a server certificate for
//! `127.0.0.1` and `localhost`, and a client certificate, all signed by the CA and written
//! as PEM files into a directory.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// Paths of the PEM files [`TestCerts::write`] made.
#[derive(Debug, Clone)]
pub struct TestCerts {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl TestCerts {
    /// Generates the CA and both certificates and writes them under `dir`.
    pub fn write(dir: &Path) -> TestCerts {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Fennec test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");
        let leaf = |names: Vec<String>, purpose: ExtendedKeyUsagePurpose, stem: &str| {
            let mut params = CertificateParams::new(names).expect("leaf params");
            params.distinguished_name.push(DnType::CommonName, stem);
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            params.extended_key_usages = vec![purpose];
            params.use_authority_key_identifier_extension = true;
            let key = KeyPair::generate().expect("leaf key");
            let cert = params.signed_by(&key, &ca).expect("leaf certificate");
            let cert_path = dir.join(format!("{stem}.pem"));
            let key_path = dir.join(format!("{stem}-key.pem"));
            std::fs::write(&cert_path, cert.pem()).expect("write certificate");
            std::fs::write(&key_path, key.serialize_pem()).expect("write key");
            (cert_path, key_path)
        };
        let (server_cert, server_key) = leaf(
            vec!["127.0.0.1".into(), "localhost".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
            "server",
        );
        let (client_cert, client_key) = leaf(
            vec!["fennec-test-client".into()],
            ExtendedKeyUsagePurpose::ClientAuth,
            "client",
        );
        let ca_path = dir.join("ca.pem");
        std::fs::write(&ca_path, ca.pem()).expect("write CA");
        TestCerts {
            ca: ca_path,
            server_cert,
            server_key,
            client_cert,
            client_key,
        }
    }

    /// `tls.server.*` keys of a server in `mode` with these files; with `client_auth` other
    /// than `none` client certificates are checked against the CA.
    pub fn server_keys(&self, mode: &str, client_auth: &str) -> Vec<(String, String)> {
        let path = |p: &PathBuf| p.display().to_string();
        vec![
            ("tls.server.mode".into(), mode.into()),
            ("tls.server.certPath".into(), path(&self.server_cert)),
            ("tls.server.keyPath".into(), path(&self.server_key)),
            ("tls.server.trustCertPath".into(), path(&self.ca)),
            ("tls.server.need.client.auth".into(), client_auth.into()),
        ]
    }

    /// A client trusting the CA, showing the client certificate when `with_cert`.
    pub fn client(&self, with_cert: bool) -> fennec_remoting::TlsClient {
        let identity = with_cert.then_some((self.client_cert.as_path(), self.client_key.as_path()));
        fennec_remoting::TlsClient::from_pem_files(&self.ca, identity).expect("TLS client")
    }
}
