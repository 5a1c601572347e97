#!/usr/bin/env python3
"""Generates the labelled ad-filter corpus under testdata/adfilter.

Spam and ham are built from hand-written templates (Chinese and English)
filled with varied values; spam gets the evasions ad posters use (spaced,
separated, full-width, zero-width, look-alike and emoji-decorated words).
Ham includes hard cases: 微信 and QQ without ids, order numbers, legitimate
links, prices, phone-like numbers. The train-* files (another seed, partly
other phrasings) teach the classifier; spam.txt and ham.txt are for
`qunbot adfilter eval`.

  python3 scripts/gen-adfilter-corpus.py
"""
import random, os

OUT = os.path.join(os.path.dirname(__file__), "..", "testdata", "adfilter")

def wxid(r):
    a = "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(3, 6)))
    return a + str(r.randint(100, 99999999))

def phone(r):
    return "1" + r.choice("3456789") + "".join(str(r.randint(0, 9)) for _ in range(9))

def spaced_phone(r):
    p = phone(r)
    return r.choice([p, p[:3] + " " + p[3:7] + " " + p[7:], p[:3] + "-" + p[3:7] + "-" + p[7:]])

def code(r, n=10):
    return "".join(r.choice("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(n))

SPAM_DOMAINS = ["lucky888.vip", "bet365x.top", "cash-now.xyz", "amazing-deal.shop", "fastloan.icu", "coinbonus.site", "vipgirls.club"]
FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"}
CYR = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у"}

def evade(r, s):
    """Applies one of the usual evasions to a phrase."""
    k = r.randint(0, 7)
    if k == 0:
        return " ".join(s)
    if k == 1:
        return r.choice(["-", ".", "*", "~", "|", "/"]).join(s)
    if k == 2:
        return "".join(FULLWIDTH.get(c, c) for c in s)
    if k == 3:
        return "\u200b".join(s)
    if k == 4:
        return "".join(CYR.get(c, c) for c in s)
    if k == 5:
        return r.choice(["❤", "🔥", "⭐", "💰"]).join(s)
    return s

def contact(r, ev=True):
    k = r.randint(0, 9)
    w = wxid(r)
    if k == 0:
        return "加" + evade(r, "微信") + "：" + w
    if k == 1:
        return evade(r, "vx") + ": " + w
    if k == 2:
        return evade(r, "加V") + " " + w
    if k == 3:
        return "电话 " + spaced_phone(r)
    if k == 4:
        return evade(r, "QQ") + " " + str(r.randint(10000, 9999999999))
    if k == 5:
        return "进群 t.me/+" + code(r)
    if k == 6:
        return "详情 https://" + r.choice(SPAM_DOMAINS) + "/" + code(r, 5)
    if k == 7:
        return "点击 bit.ly/" + code(r, 6)
    if k == 8:
        return "wx " + w
    return "扣扣 " + str(r.randint(10000, 999999999))

def en_contact(r):
    k = r.randint(0, 6)
    if k == 0:
        return "WhatsApp +1 " + str(r.randint(200, 999)) + "-" + str(r.randint(200, 999)) + "-" + str(r.randint(1000, 9999))
    if k == 1:
        return "join t.me/joinchat/" + code(r)
    if k == 2:
        return "visit " + r.choice(SPAM_DOMAINS)
    if k == 3:
        return "click bit.ly/" + code(r, 6)
    if k == 4:
        return "add my " + evade(r, "wechat") + ": " + wxid(r)
    if k == 5:
        return "tinyurl.com/" + code(r, 7)
    return "https://" + r.choice(SPAM_DOMAINS) + "/claim"

ZH_SPAM = [
    lambda r: f"招聘{evade(r, '兼职')}，{evade(r, '刷单')}日结，{evade(r, '日赚')}{r.randint(200, 900)}元，{contact(r)}",
    lambda r: f"{evade(r, '代开发票')}，各类{evade(r, '发票')}正规可查，{contact(r)}",
    lambda r: f"{evade(r, '无抵押')}贷款，当天放款，额度{r.randint(1, 50)}万，{contact(r)}",
    lambda r: f"{r.choice(['澳门', '线上'])}{evade(r, '博彩')}，注册送{r.randint(18, 888)}元，{contact(r)}",
    lambda r: f"USDT {evade(r, '高额返利')}，{evade(r, '稳赚不赔')}，{contact(r)}",
    lambda r: f"{evade(r, '同城约')}，{r.choice(['学生', '少妇', '模特'])}上门，{contact(r)}",
    lambda r: f"低价{evade(r, '出售')}微信号QQ号，{evade(r, '量大从优')}，{contact(r)}",
    lambda r: f"{evade(r, '免费领取')}{r.choice(['面膜', '手机', '红包', '课程'])}，{evade(r, '扫码进群')}，{contact(r)}",
    lambda r: f"宝妈{evade(r, '兼职')}，在家{evade(r, '日赚')}几百，{contact(r)}",
    lambda r: f"{evade(r, '网赚')}项目，一部手机{evade(r, '日入')}{r.randint(300, 3000)}，{contact(r)}",
    lambda r: f"专业{evade(r, '刷单')}{evade(r, '返利')}，佣金秒结，{contact(r)}",
    lambda r: f"{evade(r, '彩票')}内部计划，{evade(r, '包中')}，{contact(r)}",
]

EN_SPAM = [
    lambda r: f"{evade(r, 'Earn')} ${r.randint(200, 900)} per day {evade(r, 'working from home')}! {en_contact(r)}",
    lambda r: f"Crypto {evade(r, 'airdrop')} live now, {evade(r, 'claim free')} {r.choice(['USDT', 'BTC', 'ETH', 'tokens'])} {en_contact(r)}",
    lambda r: f"Investment opportunity, {r.randint(100, 500)}% {evade(r, 'guaranteed returns')}, {en_contact(r)}",
    lambda r: f"{evade(r, 'Hot singles')} in your area tonight {en_contact(r)}",
    lambda r: f"{evade(r, 'Buy followers')} cheap, {r.randint(1, 50)}k for ${r.randint(5, 50)} {en_contact(r)}",
    lambda r: f"Join our {evade(r, 'VIP signals')} group, {r.randint(90, 99)}% win rate {en_contact(r)}",
    lambda r: f"{evade(r, 'Make money fast')} with this simple trick {en_contact(r)}",
    lambda r: f"{evade(r, 'Casino')} bonus: deposit ${r.randint(10, 100)} get ${r.randint(200, 1000)} free {en_contact(r)}",
    lambda r: f"{evade(r, 'Loan approved')} instantly, no credit check {en_contact(r)}",
]

ZH_HAM = [
    lambda r: f"今天的{r.choice(['耶加雪菲', '曼特宁', '拿铁', '手冲', '冷萃'])}真不错，推荐给大家",
    lambda r: f"请问店里{r.choice(['微信支付', '支付宝', '刷卡'])}可以吗？",
    lambda r: f"我的订单号是 {r.randint(10**15, 10**16)}，请问什么时候发货",
    lambda r: f"教程在这里 https://github.com/{r.choice(['qunbot', 'golang', 'redis'])}/{r.choice(['docs', 'wiki', 'examples'])}",
    lambda r: f"周{r.choice('一二三四五六日')}的活动报名链接 https://example.com/event/{r.randint(1, 99)}",
    lambda r: f"加油！{r.choice(['明天见', '周末愉快', '大家辛苦了'])}",
    lambda r: f"我已经加了{r.choice(['微信群', '企业微信', '公众号'])}，谢谢群主",
    lambda r: f"QQ音乐有这首歌吗？{r.choice(['好想听', '求分享', '找不到'])}",
    lambda r: f"电话会议改到下午 {r.randint(1, 5)} 点，大家注意时间",
    lambda r: f"这台磨豆机花了 {r.randint(200, 2000)} 元，{r.choice(['挺值', '有点贵', '性价比高'])}",
    lambda r: f"{r.choice(['新来的朋友', '欢迎新人', '大家好'])}，我是{r.choice(['小王', '阿杰', '莉莉', 'Tom'])}，请多关照",
    lambda r: f"有人知道{r.choice(['上海', '北京', '杭州', '成都'])}哪家咖啡店好吗？",
    lambda r: f"签到",
    lambda r: f"今天打卡第 {r.randint(2, 300)} 天",
    lambda r: f"群里有人用过{r.choice(['V60', '爱乐压', '摩卡壶', '法压壶'])}吗？水温多少合适",
    lambda r: f"周末{r.choice(['兼职', '值班'])}太累了，回来喝杯咖啡",
    lambda r: f"快递电话打不通，{r.choice(['有人遇到过吗', '好烦', '明天再试'])}",
    lambda r: f"{r.choice(['免费', '限时'])}试喝活动在哪里报名？",
    lambda r: f"我把发票拍给财务了，报销应该没问题",
    lambda r: f"第 {r.randint(1, 20)} 期分享会的录像在群文件里",
]

EN_HAM = [
    lambda r: f"Has anyone tried the {r.choice(['Ethiopian', 'Kenyan', 'Colombian', 'Brazilian'])} beans? {r.choice(['Loved them', 'Too acidic for me', 'Worth it'])}",
    lambda r: f"Check out the docs at https://{r.choice(['docs.python.org', 'go.dev/doc', 'redis.io/docs'])}",
    lambda r: f"My wechat group is full, can someone start a new one?",
    lambda r: f"I paid ${r.randint(20, 400)} for the grinder and it was worth it",
    lambda r: f"Free coffee for the first {r.randint(5, 30)} people at the meetup!",
    lambda r: f"Bus {r.randint(10, 300)} stops right in front of the cafe",
    lambda r: f"See you all on {r.choice(['Monday', 'Friday', 'Saturday'])} at {r.randint(1, 9)}pm",
    lambda r: f"Thanks for the tips, my pour-over tastes {r.choice(['much better', 'sweeter', 'cleaner'])} now",
    lambda r: f"What water temperature do you use for {r.choice(['light', 'medium', 'dark'])} roasts?",
    lambda r: f"The meetup notes are on the wiki: https://github.com/{r.choice(['qunbot', 'coffee-club'])}/notes",
    lambda r: f"Order #{r.randint(100000, 9999999)} arrived today, packaging was great",
    lambda r: f"Can we move the call to {r.randint(1, 5)}:30? I have a conflict",
    lambda r: f"Welcome {r.choice(['Anna', 'Ben', 'Chen', 'Dara'])}! Glad to have you here",
    lambda r: f"I work from home on {r.choice(['Mondays', 'Fridays'])}, so mornings are slow coffee time",
    lambda r: f"Is the {r.choice(['Hario', 'Chemex', 'Kalita'])} filter compatible with the new dripper?",
]

def gen(seed, n_spam, n_ham, zh_spam, en_spam, zh_ham, en_ham):
    r = random.Random(seed)
    spam, ham = set(), set()
    while len(spam) < n_spam:
        t = r.choice(zh_spam) if r.random() < 0.6 else r.choice(en_spam)
        spam.add(t(r).replace("\n", " "))
    while len(ham) < n_ham:
        t = r.choice(zh_ham) if r.random() < 0.55 else r.choice(en_ham)
        ham.add(t(r).replace("\n", " "))
    return sorted(spam), sorted(ham)

def write(name, lines, header):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        f.write("# " + header + "\n")
        for l in lines:
            f.write(l + "\n")

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    # training: another seed, and a part of the templates only, so eval
    # also sees phrasings the classifier never saw
    tr_spam, tr_ham = gen(7, 300, 300, ZH_SPAM[:9], EN_SPAM[:6], ZH_HAM[:14], EN_HAM[:10])
    ev_spam, ev_ham = gen(2026, 400, 400, ZH_SPAM, EN_SPAM, ZH_HAM, EN_HAM)
    tr_spam = [s for s in tr_spam if s not in set(ev_spam)]
    tr_ham = [s for s in tr_ham if s not in set(ev_ham)]
    write("train-spam.txt", tr_spam, "classifier training: spam (generated by scripts/gen-adfilter-corpus.py)")
    write("train-ham.txt", tr_ham, "classifier training: not spam (generated by scripts/gen-adfilter-corpus.py)")
    write("spam.txt", ev_spam, "evaluation: spam (generated by scripts/gen-adfilter-corpus.py)")
    write("ham.txt", ev_ham, "evaluation: not spam (generated by scripts/gen-adfilter-corpus.py)")
