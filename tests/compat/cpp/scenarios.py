#!/usr/bin/env python3
"""Scenarios for the C++ RocketMQ client (Apache rocketmq-client-cpp, driven through the ctypes
wrapper rocketmq-client-python 2.0.0) against a live Fennec node.

    NAMESRV_ADDR=127.0.0.1:9876 VENV/bin/python scenarios.py SCENARIO

SCENARIO is one of: send, tags, props, tx, ordered (see SCENARIOS at the bottom).

One scenario a process: the native client keeps process-wide state and its threads can keep
the interpreter from exiting, so every run ends in os._exit. Each scenario uses topics and
groups of its own, named after the run id (COMPAT_RUN_ID, or a random one), so leftovers of
earlier runs on the same node cannot count. The last line is `PASS cpp/NAME: ...` (exit 0) or
`FAIL cpp/NAME: ...` (exit 1). A consumer side check passes only if every expected message
arrived exactly once and nothing else arrived; a scenario that expects or receives nothing
fails.

Environment: NAMESRV_ADDR (required), COMPAT_RUN_ID, COMPAT_WAIT_SECONDS (how long a consumer
may take to receive everything, default 45), COMPAT_SETTLE_SECONDS (how long to keep listening
after that for messages that must not come, default 3).
"""
import collections
import os
import socket
import sys
import threading
import time
import uuid

from rocketmq.client import (
    ConsumeStatus,
    Message,
    Producer,
    PushConsumer,
    SendStatus,
    TransactionMQProducer,
    TransactionStatus,
)

NAMESRV = os.environ.get("NAMESRV_ADDR", "")
RUN = os.environ.get("COMPAT_RUN_ID") or uuid.uuid4().hex[:10]
WAIT = float(os.environ.get("COMPAT_WAIT_SECONDS", "45"))
SETTLE = float(os.environ.get("COMPAT_SETTLE_SECONDS", "3"))

_started = []  # producers and consumers to shut down at the end


class Failed(Exception):
    """A check did not hold; the message says which and what was seen."""


def log(scenario, text):
    print(f"  cpp/{scenario}: {text}", flush=True)


def name(kind, scenario):
    """Topic and group names of this run: letters, digits and '_' only."""
    return f"FcCpp{kind}_{scenario}_{RUN}"


def text(value):
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def message(topic, body, keys=None, tags=None, props=None):
    msg = Message(topic)
    msg.set_body(body)
    if keys:
        msg.set_keys(keys)
    if tags:
        msg.set_tags(tags)
    for key, value in (props or {}).items():
        msg.set_property(key, value)
    return msg


def start_producer(scenario, orderly=False):
    producer = Producer(name("P", scenario), orderly=orderly, timeout=5000)
    producer.set_name_server_address(NAMESRV)
    producer.start()
    _started.append(producer)
    return producer


class Inbox:
    """What a consumer's callback received, in arrival order (callbacks run on native threads)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items = []
        self.errors = []

    def put(self, item):
        with self._lock:
            self._items.append(item)

    def items(self):
        with self._lock:
            return list(self._items)

    def collect(self, count):
        """Waits up to WAIT seconds for `count` items, then SETTLE seconds more for any extras."""
        deadline = time.monotonic() + WAIT
        while len(self.items()) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(SETTLE)
        return self.items()


def start_consumer(scenario, group_suffix, topic, expression, record, orderly=False):
    """A push consumer in its own group; `record(msg)` turns each message into an inbox item."""
    inbox = Inbox()

    def on_message(msg):
        try:
            inbox.put(record(msg))
        except Exception as exc:  # a callback must not raise into the native client
            inbox.errors.append(f"{type(exc).__name__}: {exc}")
        return ConsumeStatus.CONSUME_SUCCESS

    consumer = PushConsumer(name("C", scenario + group_suffix), orderly=orderly)
    consumer.set_name_server_address(NAMESRV)
    consumer.subscribe(topic, on_message, expression)
    consumer.start()
    _started.append(consumer)
    return inbox


def require_exact(expected, received, what="messages"):
    """Every expected item exactly once, nothing else. Both lists hold hashable items."""
    if not expected:
        raise Failed("scenario bug: it expects no messages, so it could not fail")
    if not received:
        raise Failed(f"received 0 of {len(expected)} {what}")
    counts = collections.Counter(received)
    missing = [item for item in expected if item not in counts]
    unexpected = sorted({repr(item) for item in counts if item not in set(expected)})
    repeated = sorted(repr(item) for item, n in counts.items() if n > 1)
    problems = []
    if missing:
        problems.append(f"{len(missing)} of {len(expected)} {what} missing: {missing[:5]}")
    if unexpected:
        problems.append(f"unexpected: {unexpected[:5]}")
    if repeated:
        problems.append(f"delivered more than once: {repeated[:5]}")
    if problems:
        raise Failed("; ".join(problems) + f" (received {len(received)})")


def require_no_errors(inbox):
    if inbox.errors:
        raise Failed(f"consumer callback failed: {inbox.errors[:3]}")


def send_all(producer, scenario, messages):
    """Synchronous sends; each must answer SEND_OK with a message id."""
    for i, msg in enumerate(messages):
        result = producer.send_sync(msg)
        if result.status != SendStatus.OK or not result.msg_id:
            raise Failed(f"send #{i}: status {result.status.name}, msgId {result.msg_id!r}")
    log(scenario, f"{len(messages)} sent, all SEND_OK")


# ---- scenarios ------------------------------------------------------------------------------


def scenario_send():
    """Synchronous send, then a push consumer (subscription '*') gets each message once."""
    topic = name("T", "send")
    bodies = [f"cpp send {RUN} #{i}" for i in range(16)]
    producer = start_producer("send")
    send_all(producer, "send", [message(topic, b, keys=f"send-{i}", tags="TagS")
                                for i, b in enumerate(bodies)])
    inbox = start_consumer("send", "", topic, "*", lambda m: text(m.body))
    got = inbox.collect(len(bodies))
    require_no_errors(inbox)
    require_exact(bodies, got)
    return f"{len(bodies)} sent, {len(got)} received, each body exactly once"


def scenario_tags():
    """Tag filtering: 'TagB' gets only TagB; 'TagA || TagC' gets only those two."""
    topic = name("T", "tags")
    tags = ["TagA", "TagB", "TagC"]
    sent = [(f"cpp tags {RUN} #{i}", tags[i % 3]) for i in range(15)]
    producer = start_producer("tags")
    send_all(producer, "tags", [message(topic, body, tags=tag) for body, tag in sent])

    def record(msg):
        return (text(msg.body), text(msg.tags))

    only_b = start_consumer("tags", "B", topic, "TagB", record)
    a_or_c = start_consumer("tags", "AC", topic, "TagA || TagC", record)
    want_b = [item for item in sent if item[1] == "TagB"]
    want_ac = [item for item in sent if item[1] != "TagB"]
    got_b = only_b.collect(len(want_b))
    got_ac = a_or_c.collect(len(want_ac))
    for inbox in (only_b, a_or_c):
        require_no_errors(inbox)
    require_exact(want_b, got_b, "TagB messages (subscription 'TagB')")
    require_exact(want_ac, got_ac, "TagA/TagC messages (subscription 'TagA || TagC')")
    return (f"'TagB' got its {len(got_b)} and nothing else; "
            f"'TagA || TagC' got its {len(got_ac)} and nothing else")


def scenario_props():
    """Keys, tags and user properties set by the producer are what the consumer sees."""
    topic = name("T", "props")
    expected = []
    msgs = []
    for i in range(8):
        keys = f"order-{i} customer-{i % 3}"
        props = {"compat_seq": str(i), "compat_note": f"caf\u00e9 n\u00b0{i}"}
        body = f"cpp props {RUN} #{i}"
        expected.append((body, keys, "TagP", props["compat_seq"], props["compat_note"]))
        msgs.append(message(topic, body, keys=keys, tags="TagP", props=props))
    producer = start_producer("props")
    send_all(producer, "props", msgs)

    ids = []

    def record(msg):
        ids.append(msg.id)
        return (text(msg.body), text(msg.keys), text(msg.tags),
                text(msg.get_property("compat_seq")), text(msg.get_property("compat_note")))

    inbox = start_consumer("props", "", topic, "*", record)
    got = inbox.collect(len(expected))
    require_no_errors(inbox)
    require_exact(expected, got, "messages with matching body, keys, tags and properties")
    if not all(ids):
        raise Failed("a received message has an empty msgId")
    return f"{len(got)} received with the keys, tag and both properties they were sent with"


def scenario_tx():
    """Transactional send: COMMIT and ROLLBACK decided locally, UNKNOWN settled by check-back."""
    topic = name("T", "tx")
    local = {"commit-1": TransactionStatus.COMMIT, "commit-2": TransactionStatus.COMMIT,
             "rollback-1": TransactionStatus.ROLLBACK, "rollback-2": TransactionStatus.ROLLBACK,
             "unknown-1": TransactionStatus.UNKNOWN}
    on_check = {"unknown-1": TransactionStatus.COMMIT}
    checked = []

    def execute_local(msg, _args):
        return local[text(msg.keys)]

    def check_back(msg):
        key = text(msg.keys)
        checked.append(key)
        if key not in on_check:
            log("tx", f"note: broker checked back {key!r}, which was already decided")
        return on_check.get(key, local.get(key, TransactionStatus.ROLLBACK))

    producer = TransactionMQProducer(name("P", "tx"), check_back)
    producer.set_name_server_address(NAMESRV)
    producer.start()
    _started.append(producer)
    for key in local:
        body = f"cpp tx {RUN} {key}"
        result = producer.send_message_in_transaction(message(topic, body, keys=key), execute_local)
        if result.status != SendStatus.OK or not result.msg_id:
            raise Failed(f"half message {key}: status {result.status.name}, msgId {result.msg_id!r}")
    log("tx", f"{len(local)} half messages sent: 2 COMMIT, 2 ROLLBACK, 1 UNKNOWN")

    inbox = start_consumer("tx", "", topic, "*", lambda m: text(m.keys))
    want = ["commit-1", "commit-2", "unknown-1"]
    got = inbox.collect(len(want))
    time.sleep(2.5)  # another check-back round: a rolled-back message must still not show up
    got = inbox.items()
    require_no_errors(inbox)
    if "unknown-1" not in checked:
        raise Failed(f"the broker never checked back the UNKNOWN transaction "
                     f"(received {sorted(got)}, check-backs {checked})")
    require_exact(want, got, "committed messages")
    return (f"committed 2 delivered, rolled-back 2 never delivered, UNKNOWN delivered after "
            f"{checked.count('unknown-1')} check-back(s)")


def scenario_ordered():
    """Orderly producer (hash of a sharding key picks the queue) and orderly push consumer."""
    topic = name("T", "ordered")
    accounts = [f"acct-{n}" for n in range(4)]
    steps = 5
    producer = start_producer("ordered", orderly=True)
    for step in range(steps):
        for acct in accounts:
            msg = message(topic, f"{acct} {step}", keys=acct)
            result = producer.send_orderly_with_sharding_key(msg, acct)
            if result.status != SendStatus.OK:
                raise Failed(f"orderly send {acct} step {step}: status {result.status.name}")
    log("ordered", f"{steps * len(accounts)} sent orderly over {len(accounts)} sharding keys")

    def record(msg):
        acct, step = text(msg.body).split()
        return (acct, int(step), msg.queue_id)

    inbox = start_consumer("ordered", "", topic, "*", record, orderly=True)
    got = inbox.collect(steps * len(accounts))
    require_no_errors(inbox)
    require_exact([(a, s) for s in range(steps) for a in accounts], [(a, s) for a, s, _ in got])
    for acct in accounts:
        seen = [s for a, s, _ in got if a == acct]
        queues = {q for a, _, q in got if a == acct}
        if seen != list(range(steps)):
            raise Failed(f"{acct} consumed out of order: steps {seen}")
        if len(queues) != 1:
            raise Failed(f"{acct} spread over queues {sorted(queues)}")
    return f"{len(got)} received; each sharding key on one queue, steps in send order"


def scenario_delivery():
    """Delay level 2 arrives after about 5 s; a message the listener asks to reconsume later
    comes back after about 10 s (level 3) with reconsume_times 1, under its original topic."""
    topic = name("T", "delivery")
    producer = start_producer("delivery")
    seen = Inbox()

    def on_message(msg):
        body = text(msg.body)
        seen.put((time.monotonic(), body, msg.reconsume_times, text(msg.topic)))
        if body.startswith("retry") and msg.reconsume_times == 0:
            return ConsumeStatus.RECONSUME_LATER
        return ConsumeStatus.CONSUME_SUCCESS

    consumer = PushConsumer(name("C", "delivery"))
    consumer.set_name_server_address(NAMESRV)
    consumer.subscribe(topic, on_message, "*")
    consumer.start()
    _started.append(consumer)
    # The consumer is in place once it receives a plain message.
    send_all(producer, "delivery", [message(topic, f"warm {RUN}")])
    if not any(b.startswith("warm") for _, b, _, _ in seen.collect(1)):
        raise Failed("the warm-up message never arrived")
    delayed = message(topic, f"delayed {RUN}")
    delayed.set_delay_time_level(2)
    sent_delayed = time.monotonic()
    send_all(producer, "delivery", [delayed])
    sent_retry = time.monotonic()
    send_all(producer, "delivery", [message(topic, f"retry {RUN}")])
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        got = seen.items()
        if len([s for s in got if s[1].startswith("retry")]) >= 2 and any(
                s[1].startswith("delayed") for s in got):
            break
        time.sleep(0.1)
    got = seen.items()
    delays = [at - sent_delayed for at, b, _, _ in got if b.startswith("delayed")]
    retries = [(at, n, t) for at, b, n, t in got if b.startswith("retry")]
    if len(delays) != 1:
        raise Failed(f"the level-2 message arrived {len(delays)} times")
    if not 4.0 <= delays[0] <= 8.0:
        raise Failed(f"the level-2 message arrived after {delays[0]:.2f} s, not about 5 s")
    if len(retries) < 2:
        raise Failed(f"the reconsumed message arrived {len(retries)} time(s), expected 2")
    (first, n0, _), (again, n1, t1) = retries[0], retries[1]
    gap = again - first
    if not 8.0 <= gap <= 16.0:
        raise Failed(f"the retry came {gap:.2f} s after the first delivery, not about 10 s")
    if n0 != 0 or n1 != 1:
        raise Failed(f"reconsume_times {n0} then {n1}, expected 0 then 1")
    if t1 != topic:
        raise Failed(f"the retry was seen under topic {t1!r}, not {topic!r}")
    if len(retries) > 2:
        raise Failed(f"the reconsumed message arrived {len(retries)} times after success")
    return (f"level 2 after {delays[0]:.2f} s; retry after {gap:.2f} s with reconsume_times 1 "
            f"under {topic}; first delivery {first - sent_retry:.2f} s after its send")


SCENARIOS = {
    "send": scenario_send,
    "tags": scenario_tags,
    "props": scenario_props,
    "tx": scenario_tx,
    "ordered": scenario_ordered,
    "delivery": scenario_delivery,
}


def one_line(value):
    return " ".join(str(value).split())


def close_started(seconds):
    def close():
        for client in reversed(_started):
            try:
                client.shutdown()
            except Exception:  # already failed; the verdict is out
                pass

    closer = threading.Thread(target=close, daemon=True)
    closer.start()
    closer.join(seconds)


def main(argv):
    if len(argv) != 2 or argv[1] not in SCENARIOS:
        print(f"usage: scenarios.py {{{'|'.join(SCENARIOS)}}}", file=sys.stderr)
        return 2
    label = f"cpp/{argv[1]}"
    try:
        if not NAMESRV:
            raise Failed("NAMESRV_ADDR is not set")
        host, port = NAMESRV.rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except OSError as exc:
            raise Failed(f"nameserver {NAMESRV} unreachable: {exc}") from exc
        summary = SCENARIOS[argv[1]]()
    except Failed as exc:
        print(f"FAIL {label}: {one_line(exc)}", flush=True)
        code = 1
    except Exception as exc:  # the client raised: that is a failure of the scenario too
        print(f"FAIL {label}: {type(exc).__name__}: {one_line(exc)}", flush=True)
        code = 1
    else:
        print(f"PASS {label}: {summary}", flush=True)
        code = 0
    close_started(10)
    return code


if __name__ == "__main__":
    status = main(sys.argv)
    sys.stdout.flush()
    os._exit(status)
