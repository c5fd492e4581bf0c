// A TCP proxy in front of a test server, for network faults between pgrunbook and PostgreSQL:
// reset every connection (RST, as after a network blip or a failover), or black-hole them
// (stop forwarding in both directions without closing, as a stuck middlebox: the proxy's kernel
// keeps acknowledging, so TCP keepalives see a live peer and only a client-side timeout notices).
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** The target URL with host and port replaced by the proxy's. */
  url(targetUrl: string): string;
  /** Connections accepted so far (for "it reconnected" assertions). */
  accepted(): number;
  /** Resets every open connection (both sides); new connections are still forwarded. */
  resetAll(): number;
  /**
   * From now on nothing is forwarded on the connections open at this moment, in either direction,
   * and nothing is closed: they stall. New connections are forwarded (the path came back, or the
   * client got a new route). Returns how many connections stalled.
   */
  blackHole(): number;
  /**
   * From now on a connection (open or new) whose client sends a message matching `re` stalls from
   * that message on, as in blackHole(): the statement never reaches the server. Returns a function
   * that tells how many connections stalled so far.
   */
  stallWhen(re: RegExp): () => number;
  /**
   * From now on a connection whose client sends a message matching `re` is reset (RST, both sides)
   * instead of forwarding it. Returns a function that tells how many connections were reset so far.
   */
  resetWhen(re: RegExp): () => number;
  stop(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  const pairs = new Set<{ client: net.Socket; server: net.Socket; holed?: boolean }>();
  let accepted = 0;
  let stallOn: RegExp | undefined;
  let stalled = 0;
  let resetOn: RegExp | undefined;
  let reset = 0;
  type Pair = { client: net.Socket; server: net.Socket; holed?: boolean };
  const forward = (pair: Pair, from: net.Socket, to: net.Socket) =>
    from.on('data', (chunk: Buffer) => {
      if (resetOn && from === pair.client && resetOn.test(chunk.toString('latin1'))) {
        reset++;
        pairs.delete(pair);
        pair.client.resetAndDestroy();
        pair.server.resetAndDestroy();
        return;
      }
      if (!pair.holed && stallOn && from === pair.client && stallOn.test(chunk.toString('latin1'))) {
        pair.holed = true;
        stalled++;
      }
      if (!pair.holed && !to.destroyed) to.write(chunk);
    });
  const srv = net.createServer((client) => {
    accepted++;
    const server = net.connect(targetPort, targetHost);
    const pair: Pair = { client, server };
    pairs.add(pair);
    forward(pair, client, server);
    forward(pair, server, client);
    const close = () => {
      pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    for (const s of [client, server]) {
      s.on('error', close);
      s.on('close', close);
    }
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  return {
    port,
    url: (targetUrl) => {
      const u = new URL(targetUrl);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    accepted: () => accepted,
    resetAll: () => {
      const n = pairs.size;
      for (const { client, server } of [...pairs]) {
        client.resetAndDestroy();
        server.resetAndDestroy();
      }
      pairs.clear();
      return n;
    },
    stallWhen: (re) => {
      stallOn = re;
      stalled = 0;
      return () => stalled;
    },
    resetWhen: (re) => {
      resetOn = re;
      reset = 0;
      return () => reset;
    },
    blackHole: () => {
      for (const p of pairs) p.holed = true;
      return pairs.size;
    },
    stop: async () => {
      for (const { client, server } of pairs) {
        client.destroy();
        server.destroy();
      }
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    },
  };
}
