'use strict';
/*
 * rhea sender for scenario 1 (throughput, direct), the counterpart of
 * `python -m bench.scenarios.throughput send`: one connection to the listener on 127.0.0.1,
 * N messages whose body is a binary value of SIZE bytes (an amqp-value section, as
 * python-qpid-proton sends `bytes`), unsettled, timed from the first send to the last ACCEPTED.
 * Prints {"msgs_per_s": ..., "seconds": ...} as its last line.
 *
 * Usage: node bench/rhea/sender.js --port PORT [--n 100000] [--size 100]
 */
const rhea = require('rhea');

function parseArgs(argv) {
    const args = {port: 0, n: 100000, size: 100};
    for (let i = 0; i < argv.length; i += 2) {
        const key = argv[i].replace(/^--/, '');
        if (!(key in args)) throw new Error(`unknown option ${argv[i]}`);
        args[key] = Number(argv[i + 1]);
    }
    if (!args.port) throw new Error('--port is required');
    return args;
}

function fail(message) {
    console.error(message);
    process.exit(1);
}

const {port, n, size} = parseArgs(process.argv.slice(2));
const body = Buffer.alloc(size);
const container = rhea.create_container();
let sent = 0;
let accepted = 0;
let started = 0n;

container.on('sendable', (context) => {
    if (!started) started = process.hrtime.bigint();
    while (sent < n && context.sender.sendable()) {
        context.sender.send({body});
        sent++;
    }
});

container.on('accepted', (context) => {
    accepted++;
    if (accepted === n) {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        console.log(JSON.stringify({msgs_per_s: n / seconds, seconds}));
        context.connection.close();
    }
});

container.on('rejected', () => fail('message rejected by the peer'));
container.on('released', () => fail('message released by the peer'));
container.on('disconnected', (context) => {
    if (accepted < n) fail(`disconnected after ${accepted} of ${n}: ${context.error}`);
});

container.connect({host: '127.0.0.1', port, reconnect: false}).open_sender('bench-0');
