// Attacks a running web host the way a broken or hostile client would (test/web/hostile-client.ts):
// refused upgrades reset mid-answer, RFC 6455 violations, odd methods, deep payloads, a reader that
// stops reading. After each, a fresh client must get an answer; exit 1 if the host ever stops.
//   npm run attack:web -- 'http://127.0.0.1:PORT/?token=TOKEN'
import { ATTACKS, alive, rawSocket, text } from '../test/web/hostile-client.js';

async function main(): Promise<void> {
  const arg = process.argv[2];
  if (!arg || arg === '--help') {
    process.stdout.write("usage: npm run attack:web -- 'http://127.0.0.1:PORT/?token=TOKEN' (the URL the web host printed)\n");
    process.exit(arg ? 0 : 2);
  }
  const url = new URL(arg);
  const t = { port: Number(url.port), token: url.searchParams.get('token') ?? '' };
  if (!(await alive(t))) throw new Error(`no web host answers at ${url.origin} with that token`);
  let failed = 0;
  const attacks = [
    ...ATTACKS,
    {
      name: 'a client that stops reading while asking for 40 × 8 MiB',
      run: async (target: typeof t) => {
        const s = await rawSocket(target);
        s.socket.pause();
        for (let i = 0; i < 40; i++) s.send(text(JSON.stringify({ id: i, method: 'read', payload: { deviceId: 'none', address: 0x08000000, length: 8 * 1024 * 1024 } })));
        await new Promise((r) => setTimeout(r, 2000));
        s.socket.destroy();
      },
    },
  ];
  for (const a of attacks) {
    const t0 = Date.now();
    let note = '';
    try {
      await a.run(t);
    } catch (e) {
      note = ` (the attack itself: ${(e as Error).message})`;
    }
    const ok = await alive(t);
    if (!ok) failed++;
    process.stdout.write(`${ok ? 'alive' : 'DOWN '}  ${a.name}  ${Date.now() - t0} ms${note}\n`);
    if (!ok) break;
  }
  process.stdout.write(failed ? 'The host stopped answering.\n' : `The host answered after all ${attacks.length} attacks.\n`);
  process.exit(failed ? 1 : 0);
}

main().catch((e: unknown) => {
  process.stderr.write(`attack-web-host: ${(e as Error).message}\n`);
  process.exit(2);
});
