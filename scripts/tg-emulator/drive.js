// Drives qunbot through telegram-test-api (a third-party Bot API
// emulator, https://www.npmjs.com/package/telegram-test-api), started
// here; tg-emulator.sh starts qunbot against it. Two measurements:
//  1. a newcomer: joins a supergroup, answers the challenge, then sends
//     /checkin and /help together — how long until each answer came;
//  2. a burst of messages from many members of another supergroup, every
//     tenth an ad — how long until every ad was deleted, and that every
//     ordinary message is still there.
//   node drive.js PORT TOKEN MESSAGES READY_FILE
const path = require('path');
const TelegramServer = require(path.join(process.env.TTA_DIR, 'node_modules/telegram-test-api'));

const [port, token, count, ready] = [Number(process.argv[2]), process.argv[3], Number(process.argv[4] || 300), process.argv[5]];
const url = `http://127.0.0.1:${port}`;
const post = (p, body) => fetch(url + p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Math.floor(Date.now() / 1000);
const user = (id) => ({ id, first_name: `Member ${id}`, is_bot: false });
const history = async () => (await post('/getUpdatesHistory', { token })).result;
const fromBot = (u, chat) => u.message && u.message.chat_id !== undefined && String(u.message.chat_id) === String(chat.id);
const text = (u) => (u.message && typeof u.message.text === 'string' ? u.message.text : '');
// the challenge names a fruit; its button shows it
const fruit = { 香蕉: '🍌', 苹果: '🍎', 西瓜: '🍉', 桃子: '🍑', 樱桃: '🍒', 猕猴桃: '🥝', 葡萄: '🍇', 柠檬: '🍋', 草莓: '🍓', 菠萝: '🍍', 梨: '🍐', 橙子: '🍊' };

async function waitFor(cond, ms) {
  const until = Date.now() + ms;
  for (;;) {
    const h = await history();
    const got = cond(h);
    if (got) return got;
    if (Date.now() > until) return null;
    await sleep(20);
  }
}

async function newcomer() {
  const chat = { id: -1001777, title: 'Newcomers', type: 'supergroup' };
  await post('/sendMessage', { botToken: token, date: now(), from: user(77), chat, new_chat_members: [user(77)] });
  const challenge = await waitFor((h) => h.find((u) => fromBot(u, chat) && u.message.reply_markup && u.message.reply_markup.inline_keyboard), 10000);
  if (!challenge) return 'newcomer: no challenge within 10 s';
  const named = Object.entries(fruit).find(([n]) => text(challenge).includes(`「${n}」`));
  const button = challenge.message.reply_markup.inline_keyboard.flat().find((b) => named && b.text === named[1]);
  if (!button) return `newcomer: no button for the fruit the challenge names: ${text(challenge)}`;
  await post('/sendCallback', { botToken: token, date: now(), from: user(77), data: button.callback_data,
    message: { message_id: challenge.messageId, date: now(), chat, from: { id: 666, is_bot: true, first_name: 'Bot' }, text: text(challenge) } });
  if (!await waitFor((h) => h.some((u) => fromBot(u, chat) && text(u).startsWith('欢迎')), 10000)) return 'newcomer: no welcome within 10 s';
  const sent = Date.now();
  const before = (await history()).length;
  for (const cmd of ['/checkin', '/help']) {
    await post('/sendCommand', { botToken: token, date: now(), from: user(77), chat, text: cmd, entities: [{ offset: 0, length: cmd.length, type: 'bot_command' }] });
  }
  // the check-in's reply, its badge and the help
  const answers = await waitFor((h) => { const a = h.slice(before).filter((u) => fromBot(u, chat)); return a.length >= 3 && a; }, 30000);
  if (!answers) return 'newcomer: fewer than 3 answers to /checkin and /help within 30 s';
  return `newcomer: challenged, welcomed; /checkin and /help answered ${answers.slice(0, 3).map((u) => `${((u.time - sent) / 1000).toFixed(2)} s`).join(', ')} after they were sent`;
}

async function burst() {
  const chat = { id: -1001555, title: 'Busy group', type: 'supergroup' };
  const isAd = (u) => text(u).startsWith('cheap spamword');
  const t0 = Date.now();
  for (let i = 0; i < count; i++) {
    const ad = i % 10 === 5;
    await post('/sendMessage', { botToken: token, date: now(), from: user(1000 + (i % 50)), chat, text: ad ? `cheap spamword offer ${i}` : `hello, message ${i} here` });
  }
  const sent = Date.now() - t0;
  const done = await waitFor((h) => !h.some(isAd) && h, 120000);
  if (!done) return [false, `burst: after 120 s, ads are still there`];
  const kept = done.filter((u) => text(u).startsWith('hello, message')).length;
  return [kept === count - count / 10, `burst: sent ${count} messages (${count / 10} ads) in ${sent} ms; every ad deleted ${Date.now() - t0} ms after the first was sent; ordinary messages kept: ${kept} of ${count - count / 10}`];
}

(async () => {
  const server = new TelegramServer({ port, host: '127.0.0.1', storeTimeout: 600 });
  await server.start();
  require('fs').writeFileSync(ready, 'up');
  await sleep(Number(process.env.WARMUP_MS || 3000)); // qunbot starts and polls
  const first = await newcomer();
  console.log(first);
  const [ok, second] = await burst();
  console.log(second);
  await server.stop();
  process.exit(ok && first.includes('answered') ? 0 : 1);
})();
