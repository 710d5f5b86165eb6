'use strict';
// A small broker on rhea, an AMQP 1.0 implementation independent of Proton, for amq_python tests.
//
// Usage: node server.js '<json config>'. Config keys (all optional):
//   host (default 127.0.0.1), port (default 0: the kernel picks one),
//   container_id, mechanisms (["ANONYMOUS", "PLAIN"] by default; [] turns SASL off),
//   users ({name: password} for PLAIN), tls ({key, cert, ca: paths; external: true to ask for
//   a client certificate and offer SASL EXTERNAL}), port_file (a path).
// Once listening, prints one JSON line {"port": N} on stdout and, given port_file, writes it there
// too (atomically: a temp file renamed); logs events to stderr. With ANONYMOUS among the
// mechanisms a client may also skip SASL.
//
// Behaviour: every address is a queue, made on first use. A client's sender (our receiver) has its
// messages accepted and queued (to its target address, or to the message's `to` on an anonymous
// link); a client's receiver (our sender) gets its source address' messages round-robin as credit
// allows, with drain honoured. Released, modified and unsettled-at-detach deliveries go back to the
// head of the queue. Dynamic termini get a fresh address. rhea matches links by name only, so
// clients must not open two links with the same name on one connection.
const fs = require('fs');
const rhea = require('rhea');

const config = JSON.parse(process.argv[2] || '{}');
const container = rhea.create_container({id: config.container_id || 'rhea-test-broker'});
const queues = new Map();
let dynamicCount = 0;

function log(...args) {
  process.stderr.write(args.join(' ') + '\n');
}

function queue(address) {
  if (!queues.has(address)) queues.set(address, {messages: [], consumers: [], next: 0});
  return queues.get(address);
}

// rhea queues sends per session and takes credit only when it writes a transfer, so a sender's
// room is its credit less its deliveries still waiting in that queue.
function room(sender) {
  const next = sender.session.outgoing.next_pending_delivery;
  sender.queued = sender.queued.filter((d) => d.id >= next);
  return sender.credit - sender.queued.length;
}

function pump(address) {
  if (address === undefined) return;
  const q = queue(address);
  while (q.messages.length > 0) {
    const ready = q.consumers.filter((s) => s.attached && s.is_open() && room(s) > 0);
    if (ready.length === 0) break;
    const sender = ready[q.next++ % ready.length];
    const message = q.messages.shift();
    const delivery = sender.send(message);
    sender.queued.push(delivery);
    if (!delivery.settled) sender.unacked.set(delivery, message);
  }
  for (const sender of q.consumers) {
    if (sender.attached && sender._draining && sender.is_open()) sender.set_drained(true);
  }
}

function requeue(sender, delivery) {
  const message = sender.unacked.get(delivery);
  if (message === undefined) return;
  sender.unacked.delete(delivery);
  queue(sender.address).messages.unshift(message);
}

// rhea sets a delivery's outcome when the disposition arrives but reports it later, possibly after
// the link's close: an accepted or rejected delivery is done even if its event is still to come.
function done(delivery) {
  const outcome = delivery.remote_state && delivery.remote_state.constructor.composite_type;
  return outcome === 'accepted' || outcome === 'rejected';
}

function dropSender(sender) {
  if (sender.address === undefined) return;
  const q = queue(sender.address);
  q.consumers = q.consumers.filter((s) => s !== sender);
  for (const delivery of Array.from(sender.unacked.keys()).reverse()) {
    if (done(delivery)) sender.unacked.delete(delivery);
    else requeue(sender, delivery);
  }
  pump(sender.address);
  sender.address = undefined;
}

function terminusAddress(terminus) {
  if (terminus && terminus.dynamic) return 'dynamic-' + ++dynamicCount;
  return terminus ? terminus.address : undefined;
}

container.on('sender_open', (context) => {
  const sender = context.sender;
  const address = terminusAddress(sender.remote.attach.source);
  sender.set_source({address: address, dynamic: Boolean(sender.remote.attach.source.dynamic)});
  sender.address = address;
  sender.unacked = new Map();
  sender.queued = [];
  queue(address).consumers.push(sender);
  // rhea writes pending transfers before new attaches in one output pass, and a transfer ahead of
  // its link's attach is a protocol error: send on this link only once the attach is out.
  setImmediate(() => {
    sender.attached = true;
    if (sender.address !== undefined) pump(sender.address);
  });
  log('consumer attached', sender.name, address);
});

container.on('receiver_open', (context) => {
  const receiver = context.receiver;
  const target = receiver.remote.attach.target;
  receiver.address = terminusAddress(target);
  receiver.set_target({address: receiver.address, dynamic: Boolean(target && target.dynamic)});
  log('producer attached', receiver.name, receiver.address);
});

container.on('message', (context) => {
  const address = context.receiver.address || context.message.to;
  if (address === undefined) {
    context.delivery.reject({condition: 'amqp:not-found', description: 'no address'});
    return;
  }
  queue(address).messages.push(context.message);
  pump(address);
});

container.on('sendable', (context) => pump(context.sender.address));
container.on('sender_draining', (context) => pump(context.sender.address));
container.on('released', (context) => {
  requeue(context.sender, context.delivery);
  pump(context.sender.address);
});
container.on('settled', (context) => {
  if (context.sender) context.sender.unacked.delete(context.delivery);
});
container.on('sender_close', (context) => dropSender(context.sender));

function dropConnection(connection) {
  for (const q of queues.values()) {
    for (const sender of q.consumers.slice()) {
      if (sender.connection === connection) dropSender(sender);
    }
  }
}
container.on('connection_close', (context) => dropConnection(context.connection));
container.on('disconnected', (context) => dropConnection(context.connection));
container.on('error', (context) => log('error', context.error));

const mechanisms = config.mechanisms || ['ANONYMOUS', 'PLAIN'];
const users = config.users || {};
const listenOptions = {host: config.host || '127.0.0.1', port: config.port || 0};
if (mechanisms.length === 0) listenOptions.disable_sasl = true;
if (mechanisms.includes('ANONYMOUS')) container.sasl_server_mechanisms.enable_anonymous();
if (mechanisms.includes('PLAIN')) {
  container.sasl_server_mechanisms.enable_plain(
    (username, password) => Object.prototype.hasOwnProperty.call(users, username) &&
      users[username] === password);
}
if (config.tls) {
  Object.assign(listenOptions, {
    transport: 'tls',
    key: fs.readFileSync(config.tls.key),
    cert: fs.readFileSync(config.tls.cert),
    ca: config.tls.ca ? [fs.readFileSync(config.tls.ca)] : undefined,
    requestCert: Boolean(config.tls.external),
    rejectUnauthorized: false,
    enable_sasl_external: Boolean(config.tls.external),
  });
}

const server = container.listen(listenOptions);
server.on('listening', () => {
  const line = JSON.stringify({port: server.address().port}) + '\n';
  if (config.port_file) {
    fs.writeFileSync(config.port_file + '.tmp', line);
    fs.renameSync(config.port_file + '.tmp', config.port_file);
  }
  process.stdout.write(line);
});
server.on('error', (error) => {
  log('listen error', error);
  process.exit(1);
});
process.on('SIGTERM', () => process.exit(0));
