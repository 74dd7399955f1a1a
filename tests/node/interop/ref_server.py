"""The reference netaio TCPServer for a C++ tcp_client: the README's CRUD
server (echo, create/read/update/delete, subscribe/unsubscribe; a notify to
each new subscriber) under one plugin setup, on 127.0.0.1 at a port the
kernel picks. Usage: ref_server.py MODE (plain|hmac|hmac_cipher|two_hmac).
Prints "port N" once listening, then serves until a REQUEST_URI "quit"
(answered "bye") or 60 s, and exits 0 (1 on the time limit)."""
import asyncio
import logging
import sys

from netaio import (TCPServer, HMACAuthPlugin, Sha256StreamCipherPlugin,
                    MessageType, Body, Message, make_respond_uri_msg,
                    make_ok_msg, make_error_msg, make_not_found_msg)


def plugins(mode, secret=b'secret'):
    """As ref_client.py: two HMAC layers sign into different fields."""
    outer_auth = outer_cipher = inner_auth = None
    if mode in ('hmac', 'hmac_cipher', 'two_hmac'):
        outer_auth = HMACAuthPlugin(config={'secret': secret, 'hmac_field': 'outer_hmac'}
                                    if mode == 'two_hmac' else {'secret': secret})
    if mode == 'hmac_cipher':
        outer_cipher = Sha256StreamCipherPlugin(config={'key': b'key'})
    if mode == 'two_hmac':
        inner_auth = HMACAuthPlugin(config={'secret': b'inner secret'})
    return outer_auth, outer_cipher, inner_auth


async def main(mode):
    outer_auth, outer_cipher, inner_auth = plugins(mode)
    server = TCPServer(port=0, interface='127.0.0.1', auth_plugin=outer_auth,
                       cipher_plugin=outer_cipher)
    server.logger.setLevel(logging.WARNING)  # the test's output: only what went wrong
    storage = {}
    quit_requested = asyncio.Event()
    kw = {'auth_plugin': inner_auth}

    @server.on((MessageType.REQUEST_URI, b'echo'), **kw)
    def echo(msg, writer):
        return make_respond_uri_msg(msg.body.content, b'echo')

    @server.on((MessageType.REQUEST_URI, b'quit'), **kw)
    def quit_(msg, writer):
        quit_requested.set()
        return make_respond_uri_msg(b'bye', b'quit')

    @server.on(MessageType.CREATE_URI, **kw)
    def create(msg, writer):
        if msg.body.uri in storage:
            return make_error_msg('cannot overwrite', msg.body.uri)
        storage[msg.body.uri] = msg.body.content
        return make_ok_msg(b'stored', msg.body.uri)

    @server.on(MessageType.REQUEST_URI, **kw)
    def read(msg, writer):
        if msg.body.uri not in storage:
            return make_not_found_msg(uri=msg.body.uri)
        return make_respond_uri_msg(storage[msg.body.uri], msg.body.uri)

    @server.on(MessageType.UPDATE_URI, **kw)
    def update(msg, writer):
        if msg.body.uri not in storage:
            return make_not_found_msg(uri=msg.body.uri)
        storage[msg.body.uri] = msg.body.content
        return make_ok_msg(b'stored', msg.body.uri)

    @server.on(MessageType.DELETE_URI, **kw)
    def delete(msg, writer):
        if msg.body.uri not in storage:
            return make_not_found_msg(uri=msg.body.uri)
        storage.pop(msg.body.uri)
        return make_ok_msg(b'deleted', msg.body.uri)

    @server.on(MessageType.SUBSCRIBE_URI, **kw)
    def subscribe(msg, writer):
        server.subscribe(msg.body.uri, writer)
        note = Message.prepare(Body.prepare(b'news for you', uri=msg.body.uri),
                               MessageType.NOTIFY_URI)
        asyncio.get_running_loop().create_task(
            server.notify(msg.body.uri, note, auth_plugin=inner_auth))
        return Message.prepare(Body.prepare(b'', uri=msg.body.uri),
                               MessageType.CONFIRM_SUBSCRIBE)

    @server.on(MessageType.UNSUBSCRIBE_URI, **kw)
    def unsubscribe(msg, writer):
        server.unsubscribe(msg.body.uri, writer)
        return Message.prepare(Body.prepare(b'', uri=msg.body.uri),
                               MessageType.CONFIRM_UNSUBSCRIBE)

    serving = asyncio.create_task(server.start())
    while getattr(server, 'server', None) is None:
        await asyncio.sleep(0.01)
    print('port', server.server.sockets[0].getsockname()[1], flush=True)
    try:
        await asyncio.wait_for(quit_requested.wait(), 60)
        ok = True
    except asyncio.TimeoutError:
        ok = False
    await asyncio.sleep(0.1)  # let "bye" go out
    serving.cancel()
    try:
        await serving
    except asyncio.CancelledError:
        pass
    return ok


if __name__ == '__main__':
    sys.exit(0 if asyncio.run(main(sys.argv[1])) else 1)
