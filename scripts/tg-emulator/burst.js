// Drives qunbot through telegram-test-api (a third-party Bot API
// emulator, https://www.npmjs.com/package/telegram-test-api): starts the
// emulator, waits for qunbot (started by tg-emulator.sh) to poll it, sends
// a burst of messages from many members of one supergroup — every tenth
// an ad — and reports how long until every ad was deleted.
//   node burst.js PORT TOKEN MESSAGES READY_FILE
const path = require('path');
const TelegramServer = require(path.join(process.env.TTA_DIR, 'node_modules/telegram-test-api'));

const [port, token, count, ready] = [Number(process.argv[2]), process.argv[3], Number(process.argv[4] || 300), process.argv[5]];
const url = `http://127.0.0.1:${port}`;
const post = (p, body) => fetch(url + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
const chat = { id: -1001555, title: 'Emulated group', type: 'supergroup' };
const msg = (uid, text) => ({ botToken: token, date: Math.floor(Date.now() / 1000), from: { id: uid, first_name: `Member ${uid}`, is_bot: false }, chat, text });
const isAd = (u) => u.message && typeof u.message.text === 'string' && u.message.text.startsWith('cheap spamword');

(async () => {
  const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 600 });
  await server.start();
  require('fs').writeFileSync(ready, 'up');
  // time for qunbot to start and poll
  await new Promise((r) => setTimeout(r, Number(process.env.WARMUP_MS || 3000)));
  const t0 = Date.now();
  for (let i = 0; i < count; i++) {
    const ad = i % 10 === 5;
    await post('/sendMessage', msg(1000 + (i % 50), ad ? `cheap spamword offer ${i}` : `hello, message ${i} here`));
  }
  const sent = Date.now() - t0;
  let ok = false;
  for (;;) {
    const h = await post('/getUpdatesHistory', { token });
    const left = h.result.filter(isAd).length;
    const ordinary = h.result.filter((u) => u.message && typeof u.message.text === 'string' && u.message.text.startsWith('hello, message')).length;
    if (left === 0) {
      console.log(`sent ${count} messages (${count / 10} ads) in ${sent} ms; every ad deleted ${Date.now() - t0} ms after the first was sent; ordinary messages kept: ${ordinary} of ${count - count / 10}`);
      ok = ordinary === count - count / 10;
      break;
    }
    if (Date.now() - t0 > 120000) {
      console.log(`after 120 s, ${left} of ${count / 10} ads are still there`);
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await server.stop();
  process.exit(ok ? 0 : 1);
})();
