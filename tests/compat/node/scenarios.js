#!/usr/bin/env node
'use strict';
// Scenarios for the JavaScript RocketMQ client ali-ons (pure JavaScript, JSON-encoded remoting
// headers) against a live Fennec node.
//
//   NAMESRV_ADDR=127.0.0.1:9876 NODE_PATH=DIR/node_modules node scenarios.js SCENARIO
//
// SCENARIO is one of: send, tags, props, ordered (see SCENARIOS at the bottom). ali-ons has no
// transactional producer, so there is no transaction scenario here.
//
// One scenario a process, each with topics and groups of its own named after the run id
// (COMPAT_RUN_ID, or a random one). ali-ons cannot send to a topic the nameserver does not know
// (it gives up on TOPIC_NOT_EXIST instead of using the broker's auto-create route), so each
// scenario first creates its topic the way an operator would: `mqadmin updateTopic`, with the
// mqadmin named by MQADMIN, on every master of the cluster COMPAT_CLUSTER (default DefaultCluster). The last line is `PASS js/NAME: ...` (exit 0) or
// `FAIL js/NAME: ...` (exit 1). A consumer side check passes only if every expected message
// arrived exactly once and nothing else arrived; a scenario that expects or receives nothing
// fails. ali-ons can starve its own timers when it cannot reach the nameserver, so the caller
// must also bound this process from outside (tests/compat/run.sh uses `timeout -k`).
//
// Environment: NAMESRV_ADDR and MQADMIN (required), COMPAT_CLUSTER, COMPAT_RUN_ID, COMPAT_WAIT_SECONDS (how long a consumer
// may take to receive everything, default 45), COMPAT_SETTLE_SECONDS (how long to keep listening
// after that for messages that must not come, default 3).

const { execFileSync } = require('child_process');
const crypto = require('crypto');
const net = require('net');
const util = require('util');
const { Producer, Consumer, Message } = require('ali-ons');

const NAMESRV = process.env.NAMESRV_ADDR || '';
const MQADMIN = process.env.MQADMIN || '';
const CLUSTER = process.env.COMPAT_CLUSTER || 'DefaultCluster';
const RUN = process.env.COMPAT_RUN_ID || crypto.randomBytes(5).toString('hex');
const WAIT_MS = 1000 * Number(process.env.COMPAT_WAIT_SECONDS || 45);
const SETTLE_MS = 1000 * Number(process.env.COMPAT_SETTLE_SECONDS || 3);

class Failed extends Error {}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
const name = (kind, scenario) => `FcJs${kind}_${scenario}_${RUN}`;
const log = (scenario, text) => console.log(`  js/${scenario}: ${text}`);

// The library's own warnings and errors, one line each and each only once, shown only when the
// scenario fails: a healthy run has plenty (a starting consumer looks up its group's retry topic
// before its first heartbeat has made the broker create it, and says so again and again).
const noted = new Set();
function note(text) {
  noted.add(text.replace(/\s*See \S+ for further details\.?/g, '').replace(/\s+/g, ' ').trim().slice(0, 240));
}

// ali-ons insists on an HTTP client, which it would use only to look nameservers up by URL.
const noHttp = { async request() { throw new Error('tests/compat gives nameservers directly'); } };
const quiet = {
  info() {},
  debug() {},
  warn(...args) { note(`ali-ons warn: ${util.format(...args)}`); },
  error(...args) { note(`ali-ons error: ${util.format(...args)}`); },
};
const started = [];

async function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Failed(`${what}: no answer within ${ms / 1000}s`)), ms);
  });
  try {
    return await Promise.race([ promise, late ]);
  } finally {
    clearTimeout(timer);
  }
}

// Creates the topic (4 queues) with mqadmin; the scenarios' own checks do the rest.
function createTopic(topic) {
  if (!MQADMIN) throw new Failed('MQADMIN is not set (the mqadmin that creates the topics)');
  const args = [ 'updateTopic', '-n', NAMESRV, '-c', CLUSTER, '-t', topic, '-r', '4', '-w', '4' ];
  try {
    execFileSync(MQADMIN, args, { stdio: 'pipe', timeout: 20000 });
  } catch (err) {
    const said = `${err.stderr || ''}${err.stdout || ''}`.trim().split('\n').pop();
    throw new Failed(`mqadmin ${args.join(' ')} failed: ${said || err.message}`);
  }
  return topic;
}

async function startProducer(scenario) {
  const producer = new Producer({
    nameSrv: [ NAMESRV ],
    httpclient: noHttp,
    logger: quiet,
    producerGroup: name('P', scenario),
    sendMsgTimeout: 5000,
  });
  producer.on('error', err => note(`js/${scenario}: producer error: ${err.message}`));
  started.push(producer);
  await within(producer.ready(), 20000, 'producer start');
  return producer;
}

function message(topic, body, { tags, keys, props } = {}) {
  const msg = new Message(topic, tags || null, Buffer.from(body));
  if (keys) msg.keys = keys;
  for (const [ key, value ] of Object.entries(props || {})) msg.properties[key] = value;
  return msg;
}

async function sendAll(producer, scenario, messages) {
  const results = [];
  for (const [ i, msg ] of messages.entries()) {
    const result = await within(producer.send(msg), 15000, `send #${i}`);
    if (result.sendStatus !== 'SEND_OK' || !result.msgId) {
      throw new Failed(`send #${i}: status ${result.sendStatus}, msgId ${JSON.stringify(result.msgId)}`);
    }
    results.push(result);
  }
  log(scenario, `${messages.length} sent, all SEND_OK`);
  return results;
}

// A push consumer in its own group, reading the topic from its first offset; `record(msg)` turns
// each message into an inbox item. ali-ons hands a queue's messages over one at a time
// (parallelConsumeLimit 1), so arrival order within a queue is consumption order.
async function startConsumer(scenario, groupSuffix, topic, expression, record) {
  const inbox = { items: [], errors: [] };
  const consumer = new Consumer({
    nameSrv: [ NAMESRV ],
    httpclient: noHttp,
    logger: quiet,
    consumerGroup: name('C', scenario + groupSuffix),
    consumeFromWhere: 'CONSUME_FROM_FIRST_OFFSET',
    rebalanceInterval: 2000,
    parallelConsumeLimit: 1,
  });
  consumer.on('error', err => note(`js/${scenario}: consumer error: ${err.message}`));
  started.push(consumer);
  await within(consumer.ready(), 20000, 'consumer start');
  consumer.subscribe(topic, expression, async msg => {
    try {
      inbox.items.push(record(msg));
    } catch (err) {
      inbox.errors.push(err.message);
    }
  });
  inbox.collect = async count => {
    const deadline = Date.now() + WAIT_MS;
    while (inbox.items.length < count && Date.now() < deadline) await sleep(100);
    await sleep(SETTLE_MS);
    if (inbox.errors.length) throw new Failed(`consumer callback failed: ${inbox.errors.slice(0, 3)}`);
    return inbox.items.slice();
  };
  return inbox;
}

// Every expected item exactly once, nothing else. Items are compared as JSON.
function requireExact(expected, received, what = 'messages') {
  if (!expected.length) throw new Failed('scenario bug: it expects no messages, so it could not fail');
  if (!received.length) throw new Failed(`received 0 of ${expected.length} ${what}`);
  const want = new Set(expected.map(x => JSON.stringify(x)));
  const counts = new Map();
  for (const item of received.map(x => JSON.stringify(x))) counts.set(item, (counts.get(item) || 0) + 1);
  const missing = [ ...want ].filter(x => !counts.has(x));
  const unexpected = [ ...counts.keys() ].filter(x => !want.has(x));
  const repeated = [ ...counts ].filter(([ , n ]) => n > 1).map(([ x ]) => x);
  const problems = [];
  if (missing.length) problems.push(`${missing.length} of ${expected.length} ${what} missing: ${missing.slice(0, 5)}`);
  if (unexpected.length) problems.push(`unexpected: ${unexpected.slice(0, 5)}`);
  if (repeated.length) problems.push(`delivered more than once: ${repeated.slice(0, 5)}`);
  if (problems.length) throw new Failed(`${problems.join('; ')} (received ${received.length})`);
}

// ---- scenarios ------------------------------------------------------------------------------

async function scenarioSend() {
  const topic = createTopic(name('T', 'send'));
  const bodies = Array.from({ length: 16 }, (_, i) => `js send ${RUN} #${i}`);
  const producer = await startProducer('send');
  await sendAll(producer, 'send', bodies.map((b, i) => message(topic, b, { tags: 'TagS', keys: [ `send-${i}` ] })));
  const inbox = await startConsumer('send', '', topic, '*', msg => msg.body.toString());
  const got = await inbox.collect(bodies.length);
  requireExact(bodies, got);
  return `${bodies.length} sent, ${got.length} received, each body exactly once`;
}

async function scenarioTags() {
  const topic = createTopic(name('T', 'tags'));
  const tags = [ 'TagA', 'TagB', 'TagC' ];
  const sent = Array.from({ length: 15 }, (_, i) => [ `js tags ${RUN} #${i}`, tags[i % 3] ]);
  const producer = await startProducer('tags');
  await sendAll(producer, 'tags', sent.map(([ body, tag ]) => message(topic, body, { tags: tag })));
  const record = msg => [ msg.body.toString(), msg.tags ];
  const onlyB = await startConsumer('tags', 'B', topic, 'TagB', record);
  const aOrC = await startConsumer('tags', 'AC', topic, 'TagA || TagC', record);
  const wantB = sent.filter(([ , tag ]) => tag === 'TagB');
  const wantAC = sent.filter(([ , tag ]) => tag !== 'TagB');
  const gotB = await onlyB.collect(wantB.length);
  const gotAC = await aOrC.collect(wantAC.length);
  requireExact(wantB, gotB, "TagB messages (subscription 'TagB')");
  requireExact(wantAC, gotAC, "TagA/TagC messages (subscription 'TagA || TagC')");
  return `'TagB' got its ${gotB.length} and nothing else; 'TagA || TagC' got its ${gotAC.length} and nothing else`;
}

async function scenarioProps() {
  const topic = createTopic(name('T', 'props'));
  const expected = [];
  const messages = [];
  for (let i = 0; i < 8; i++) {
    const keys = [ `order-${i}`, `customer-${i % 3}` ];
    const props = { compat_seq: String(i), compat_note: `caf\u00e9 n\u00b0${i}` };
    const body = `js props ${RUN} #${i}`;
    expected.push([ body, keys.join(' '), 'TagP', props.compat_seq, props.compat_note ]);
    messages.push(message(topic, body, { tags: 'TagP', keys, props }));
  }
  const producer = await startProducer('props');
  await sendAll(producer, 'props', messages);
  const ids = [];
  const inbox = await startConsumer('props', '', topic, '*', msg => {
    ids.push(msg.msgId);
    const p = msg.properties || {};
    return [ msg.body.toString(), msg.keys, msg.tags, p.compat_seq, p.compat_note ];
  });
  const got = await inbox.collect(expected.length);
  requireExact(expected, got, 'messages with matching body, keys, tags and properties');
  if (!ids.every(Boolean)) throw new Failed('a received message has an empty msgId');
  return `${got.length} received with the keys, tag and both properties they were sent with`;
}

// ali-ons has no orderly producer or consumer; its ordering tool is Message#shardingKey: the
// producer sends every message of a key to the queue at md5(key) % queue count. ali-ons 3.12.0
// loses that pinning for keys that map to the first queue (`queueIds[i] || ''` drops queue 0),
// so the keys used here are ones whose md5 is not a multiple of any queue count from 2 to 16.
function shardingKeys(count) {
  const keys = [];
  for (let n = 0; keys.length < count; n++) {
    const key = `acct-${n}`;
    const h = crypto.createHash('md5').update(key).digest().readUInt32BE();
    let clear = true;
    for (let queues = 2; queues <= 16; queues++) if (h % queues === 0) clear = false;
    if (clear) keys.push(key);
  }
  return keys;
}

async function scenarioOrdered() {
  const topic = createTopic(name('T', 'ordered'));
  const accounts = shardingKeys(4);
  const steps = 5;
  const producer = await startProducer('ordered');
  const sent = [];
  for (let step = 0; step < steps; step++) {
    for (const acct of accounts) {
      const msg = message(topic, `${acct} ${step}`, { keys: [ acct ] });
      msg.shardingKey = acct;
      sent.push(msg);
    }
  }
  const results = await sendAll(producer, 'ordered', sent);
  const sendQueues = new Map();
  results.forEach((r, i) => {
    const acct = accounts[i % accounts.length];
    sendQueues.set(acct, (sendQueues.get(acct) || new Set()).add(r.messageQueue.queueId));
  });
  for (const [ acct, queues ] of sendQueues) {
    if (queues.size !== 1) throw new Failed(`producer spread ${acct} over queues ${[ ...queues ]}`);
  }
  const inbox = await startConsumer('ordered', '', topic, '*', msg => {
    const [ acct, step ] = msg.body.toString().split(' ');
    return [ acct, Number(step), msg.queueId ];
  });
  const got = await inbox.collect(sent.length);
  const want = [];
  for (let step = 0; step < steps; step++) for (const acct of accounts) want.push([ acct, step ]);
  requireExact(want, got.map(([ acct, step ]) => [ acct, step ]));
  for (const acct of accounts) {
    const seen = got.filter(([ a ]) => a === acct).map(([ , step ]) => step);
    const queues = new Set(got.filter(([ a ]) => a === acct).map(([ , , q ]) => q));
    if (seen.join() !== [ ...Array(steps).keys() ].join()) throw new Failed(`${acct} consumed out of order: steps ${seen}`);
    if (queues.size !== 1) throw new Failed(`${acct} consumed from queues ${[ ...queues ]}`);
  }
  return `${got.length} received; each sharding key on one queue, steps in send order`;
}

const SCENARIOS = { send: scenarioSend, tags: scenarioTags, props: scenarioProps, ordered: scenarioOrdered };

// Resolves if something listens at host:port. ali-ons itself spins when nobody does.
function probe(addr) {
  const [ host, port ] = addr.split(':');
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(port) });
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('connect timed out')); }, 5000);
    socket.once('connect', () => { clearTimeout(timer); socket.end(); resolve(); });
    socket.once('error', err => { clearTimeout(timer); reject(err); });
  });
}

async function main() {
  const scenario = process.argv[2];
  if (process.argv.length !== 3 || !SCENARIOS[scenario]) {
    console.error(`usage: scenarios.js {${Object.keys(SCENARIOS).join('|')}}`);
    return 2;
  }
  const label = `js/${scenario}`;
  let code;
  try {
    if (!NAMESRV) throw new Failed('NAMESRV_ADDR is not set');
    await probe(NAMESRV).catch(err => { throw new Failed(`nameserver ${NAMESRV} unreachable: ${err.message}`); });
    const summary = await SCENARIOS[scenario]();
    console.log(`PASS ${label}: ${summary}`);
    code = 0;
  } catch (err) {
    const why = err instanceof Failed ? err.message : `${err.name}: ${err.message}`;
    if (noted.size) console.log(`  what ali-ons reported (${noted.size} distinct lines):\n    ${[ ...noted ].join('\n    ')}`);
    console.log(`FAIL ${label}: ${why.replace(/\s*\n\s*/g, ' ')}`);
    code = 1;
  }
  // Close politely, but never wait long for it: the verdict is already out.
  await within(Promise.allSettled(started.reverse().map(c => c.close())), 10000, 'close').catch(() => {});
  return code;
}

main().then(code => process.exit(code), err => {
  console.log(`FAIL js/${process.argv[2]}: ${String(err && err.stack || err).replace(/\s*\n\s*/g, ' ')}`);
  process.exit(1);
});
