"""The reference netaio TCPClient against `netaio serve` (tests/cli): echo,
the CRUD sequence with its ERROR and NOT_FOUND, a subscription notified of
an update made by a second client, and a forged HMAC, all with HMAC +
the SHA-256 stream cipher (secret "secret", key "key").
Usage: ref_cli_client.py PORT. Prints "STEP ok" or "STEP FAILED" per step;
exits 0 when every step matched."""
import asyncio
import sys

from netaio import (TCPClient, HMACAuthPlugin, Sha256StreamCipherPlugin,
                    MessageType, Body, Message)


def client(port, secret=b'secret'):
    return TCPClient(port=port, auth_plugin=HMACAuthPlugin(config={'secret': secret}),
                     cipher_plugin=Sha256StreamCipherPlugin(config={'key': b'key'}))


async def main(port):
    ok = True

    def check(name, cond):
        nonlocal ok
        print(name, 'ok' if cond else 'FAILED', flush=True)
        ok = ok and bool(cond)

    c = client(port)
    await c.connect()
    r = await c.request(b'echo', content=b'hello', timeout=5)
    check('echo', r.header.message_type == MessageType.RESPOND_URI and r.body.content == b'hello')
    r = await c.create(b'k', b'v1', timeout=5)
    check('create', r.header.message_type == MessageType.OK)
    r = await c.create(b'k', b'again', timeout=5)
    check('create again', r.header.message_type == MessageType.ERROR)
    r = await c.request(b'k', timeout=5)
    check('read', r.body.content == b'v1')
    r = await c.update(b'k', b'v2', timeout=5)
    check('update', r.header.message_type == MessageType.OK)
    r = await c.delete(b'k', timeout=5)
    check('delete', r.header.message_type == MessageType.OK)
    r = await c.request(b'k', timeout=5)
    check('not found', r.header.message_type == MessageType.NOT_FOUND)

    # Subscribe, wait for the confirmation, then a second client's create
    # of the uri reaches the subscriber as NOTIFY_URI.
    confirmed, notified = asyncio.Event(), asyncio.Event()
    notes = []

    @c.on((MessageType.CONFIRM_SUBSCRIBE, b'news'))
    def on_confirm(message, writer):
        confirmed.set()

    @c.on((MessageType.NOTIFY_URI, b'news'))
    def on_notify(message, writer):
        notes.append(message.body.content)
        notified.set()

    await c.send(Message.prepare(Body.prepare(b'', b'news'), MessageType.SUBSCRIBE_URI))
    loop = asyncio.create_task(c.receive_loop())
    try:
        await asyncio.wait_for(confirmed.wait(), 5)
        other = client(port)
        await other.connect()
        r = await other.create(b'news', b'extra extra', timeout=5)
        await other.close()
        await asyncio.wait_for(notified.wait(), 5)
        check('notify', notes == [b'extra extra'])
    except asyncio.TimeoutError:
        check('notify', False)
    loop.cancel()
    try:
        await loop
    except asyncio.CancelledError:
        pass
    await c.close()

    # A forged seal: the server answers with an unsealed AUTH_ERROR, which
    # the reference client cannot verify: it drops it and times out.
    bad = client(port, b'wrong')
    await bad.connect()
    try:
        await bad.request(b'echo', timeout=1)
        check('forged hmac', False)
    except TimeoutError:
        check('forged hmac', True)
    await bad.close()
    return ok


if __name__ == '__main__':
    sys.exit(0 if asyncio.run(main(int(sys.argv[1]))) else 1)
