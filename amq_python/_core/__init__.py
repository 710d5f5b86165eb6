"""The sans-IO core: the AMQP object model, codec, events and options; no sockets, no loop."""
