'use strict';
// A rhea client for amq_python's tests: sends N messages and receives N back, with acks.
//
// Usage: node client.js '<json config>'. Config keys:
//   host (default 127.0.0.1), port, address, count,
//   username / password (PLAIN; username "anonymous" without a password: ANONYMOUS),
//   tls ({ca: path, servername}: connect with TLS, verifying the server against that CA),
//   timeout (seconds, default 30).
// One connection with a sender and a receiver on `address` (distinct link names: rhea matches
// links by name). Messages have bodies "m0".."m{N-1}" and message ids 0..N-1; the receiver
// accepts each one. Once every sent message is accepted and N are received, the connection is
// closed and one JSON line is printed: {"accepted": n, "bodies": [...], "errors": [...]}. On the
// first error, or when the timeout passes, it prints what it has and exits with status 1.
const fs = require('fs');
const rhea = require('rhea');

const config = JSON.parse(process.argv[2] || '{}');
const count = config.count;
const container = rhea.create_container({id: 'rhea-test-client'});
const result = {accepted: 0, bodies: [], errors: []};
let sent = 0;
let finished = false;

function finish(connection, status) {
  if (finished) return;
  finished = true;
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(status));
  if (connection && status === 0) connection.close();
}

function fail(connection, what) {
  result.errors.push(String(what));
  finish(connection, 1);
}

function checkDone(connection) {
  if (result.accepted === count && result.bodies.length === count) finish(connection, 0);
}

const options = {host: config.host || '127.0.0.1', port: config.port, reconnect: false};
if (config.username) options.username = config.username;
if (config.password) options.password = config.password;
if (config.tls) {
  Object.assign(options, {
    transport: 'tls',
    ca: [fs.readFileSync(config.tls.ca)],
    servername: config.tls.servername,
    rejectUnauthorized: true,
  });
}

container.on('sendable', (context) => {
  while (sent < count && context.sender.sendable()) {
    context.sender.send({message_id: sent, body: 'm' + sent});
    sent += 1;
  }
});
container.on('accepted', (context) => {
  result.accepted += 1;
  checkDone(context.connection);
});
container.on('rejected', (context) => fail(context.connection, 'rejected'));
container.on('released', (context) => fail(context.connection, 'released'));
container.on('message', (context) => {
  result.bodies.push(context.message.body);
  checkDone(context.connection);
});
container.on('connection_error', (context) => fail(context.connection,
  'connection: ' + JSON.stringify(context.connection.error)));
container.on('sender_error', (context) => fail(context.connection,
  'sender: ' + JSON.stringify(context.sender.error)));
container.on('receiver_error', (context) => fail(context.connection,
  'receiver: ' + JSON.stringify(context.receiver.error)));
container.on('disconnected', (context) => {
  if (!finished) fail(context.connection, 'disconnected: ' + (context.error || 'no error given'));
});
container.on('error', (context) => fail(context.connection, 'error: ' + context.error));

setTimeout(() => fail(undefined, 'timed out after ' + (config.timeout || 30) + ' s'),
  (config.timeout || 30) * 1000);

const connection = container.connect(options);
connection.open_receiver({name: 'rhea-client-receiver', source: config.address,
  credit_window: 100, autoaccept: true});
connection.open_sender({name: 'rhea-client-sender', target: config.address});
