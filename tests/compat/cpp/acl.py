#!/usr/bin/env python3
"""The C++ RocketMQ client (rocketmq-client-python 2.0 over librocketmq, installed by
tests/compat/cpp/install.sh) with credentials against an ACL-enabled Fennec, as
scripts/compat_acl.sh starts it: a signed producer sends 5 messages, a producer with a wrong
secret gets none through, a signed push consumer receives the 5.

Usage: NAMESRV_ADDR=host:port python tests/compat/cpp/acl.py   (exit 0 ok, 1 a check failed, 2 timeout)
"""
import os
import threading
import time
import uuid

from rocketmq.client import Producer, PushConsumer, Message, ConsumeStatus

NS = os.environ["NAMESRV_ADDR"]
TOPIC = "CppAclTopic"
GROUP = "CppAclGroup"
run = uuid.uuid4().hex[:8]

def watchdog():
    time.sleep(90)
    print("FAIL: watchdog", flush=True)
    os._exit(2)
threading.Thread(target=watchdog, daemon=True).start()

p = Producer("CppAclProducer", timeout=5000)
p.set_name_server_address(NS)
p.set_session_credentials("cppuser", "cpp-secret-1", "")
p.start()
for i in range(5):
    m = Message(TOPIC)
    m.set_keys(f"k{i}")
    m.set_body(f"{run}-{i}")
    r = p.send_sync(m)
    print("signed send:", r.status, r.msg_id, flush=True)
p.shutdown()

bad = Producer("CppAclBadProducer", timeout=3000)
bad.set_name_server_address(NS)
bad.set_session_credentials("cppuser", "wrong-secret", "")
bad.start()
try:
    m = Message(TOPIC)
    m.set_body("must-not-arrive")
    r = bad.send_sync(m)
    print("FAIL: wrong secret accepted:", r.status, flush=True)
    os._exit(1)
except Exception as e:
    # The broker answers NO_PERMISSION; the C++ client retries, then reports
    # "No route info of this topic".
    print("wrong secret refused:", str(e).splitlines()[0][:200], flush=True)
bad.shutdown()

got = set()
def on_msg(msg):
    body = msg.body.decode() if isinstance(msg.body, bytes) else msg.body
    if body.startswith(run):
        got.add(body)
    return ConsumeStatus.CONSUME_SUCCESS
c = PushConsumer(GROUP)
c.set_name_server_address(NS)
c.set_session_credentials("cppuser", "cpp-secret-1", "")
c.subscribe(TOPIC, on_msg)
c.start()
deadline = time.time() + 60
while len(got) < 5 and time.time() < deadline:
    time.sleep(0.2)
c.shutdown()
print("consumed:", sorted(got), flush=True)
if len(got) < 5:
    print("FAIL: consumed", len(got), "of 5", flush=True)
    os._exit(1)
print("compat acl: OK", flush=True)
os._exit(0)
