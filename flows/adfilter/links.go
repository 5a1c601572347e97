package adfilter

import "strings"

var shorteners = []string{"bit.ly", "t.cn", "tinyurl.com", "goo.gl", "is.gd", "ow.ly", "t.co", "buff.ly", "rebrand.ly",
	"cutt.ly", "shorturl.at", "rb.gy", "s.id", "url.cn", "dwz.cn", "suo.im", "tiny.cc", "v.gd", "lnkd.in", "bl.ink", "short.io"}

// tlds are the endings a bare domain ("spam.com", no scheme) is recognised
// by; with a scheme or www. any ending counts.
var tlds = []string{"com", "net", "org", "cn", "io", "me", "xyz", "top", "cc", "vip", "ly", "co", "info", "biz", "link",
	"site", "shop", "club", "app", "gg", "ru", "tk", "ml", "ga", "cf", "gq", "online", "store", "live", "fun", "icu", "win", "bet", "ink", "pw"}

// links scores the message's links: from the text itself (any platform)
// and from the platform's entities (visible and hidden).
func (s *Scorer) links(in Input, v *Verdict) {
	l := &s.cfg.Links
	var found linkFlags
	scanLinks(in.Text, func(host, path string) { found.add(l, host, path) })
	for _, u := range in.Links {
		host, path := splitURL(u)
		found.add(l, host, path)
	}
	for _, u := range in.Hidden {
		host, path := splitURL(u)
		if !domainIn(host, l.Allow) {
			found.hidden = true
		}
		found.add(l, host, path)
	}
	if found.deny != "" {
		v.Add("link", found.deny, l.DenyScore)
	}
	if found.invite {
		v.Add("link", "invite link", l.Invites)
	}
	if found.channel {
		v.Add("link", "channel link", l.Channels)
	}
	if found.short {
		v.Add("link", "shortener", l.Shorteners)
	}
	if found.hidden {
		v.Add("link", "hidden link", l.Hidden)
	}
	if found.other {
		v.Add("link", "link", l.Other)
	}
	if found.any && in.Newcomer {
		v.Add("newcomer", "link", s.cfg.Newcomer.Links)
	}
}

type linkFlags struct {
	any, invite, channel, short, hidden, other bool
	deny                                       string
}

func (f *linkFlags) add(l *Links, host, path string) {
	if host == "" || domainIn(host, l.Allow) {
		return
	}
	f.any = true
	switch {
	case domainIn(host, l.Deny):
		if f.deny == "" {
			f.deny = host
		}
	case isTelegram(host) || host == "chat.whatsapp.com" || host == "discord.gg" || host == "qm.qq.com" || host == "jq.qq.com":
		p := strings.TrimPrefix(path, "/")
		switch {
		case host == "chat.whatsapp.com", host == "discord.gg", host == "qm.qq.com", host == "jq.qq.com",
			strings.HasPrefix(p, "+"), strings.HasPrefix(p, "joinchat"), strings.HasPrefix(p, "addlist"):
			f.invite = true
		case p != "":
			f.channel = true
		}
	case domainIn(host, shorteners):
		f.short = true
	default:
		f.other = true
	}
}

func isTelegram(host string) bool {
	return host == "t.me" || host == "telegram.me" || host == "telegram.dog"
}

// domainIn reports whether host is one of domains or under one of them.
func domainIn(host string, domains []string) bool {
	for _, d := range domains {
		if len(host) >= len(d) && strings.EqualFold(host[len(host)-len(d):], d) &&
			(len(host) == len(d) || host[len(host)-len(d)-1] == '.') {
			return true
		}
	}
	return false
}

// splitURL returns a URL's host (lower-case, no port or user) and path.
func splitURL(u string) (host, path string) {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	}
	end := strings.IndexAny(u, "/?#")
	if end < 0 {
		end = len(u)
	}
	host, path = u[:end], u[end:]
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	if i := strings.IndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.TrimSuffix(strings.ToLower(host), "."), path
}

// scanLinks finds links written in text: with a scheme, starting with
// www., or a bare domain with a known ending ("spam.xyz/abc").
func scanLinks(text string, fn func(host, path string)) {
	if strings.IndexByte(text, '.') < 0 {
		return // no domain without a dot
	}
	i := 0
	for i < len(text) {
		// a candidate is a run of URL characters
		for i < len(text) && !isURLByte(text[i]) {
			i++
		}
		j, dot := i, false
		for j < len(text) && isURLByte(text[j]) {
			dot = dot || text[j] == '.'
			j++
		}
		if dot { // most runs are words: no domain without a dot
			checkCandidate(text[i:j], fn)
		}
		i = j
	}
}

func checkCandidate(c string, fn func(host, path string)) {
	lower := c
	scheme := false
	for _, p := range [...]string{"https://", "http://", "HTTPS://", "HTTP://"} {
		if strings.HasPrefix(c, p) {
			lower, scheme = c[len(p):], true
			break
		}
	}
	end := strings.IndexAny(lower, "/?#")
	if end < 0 {
		end = len(lower)
	}
	host := lower[:end]
	if k := indexFold(host, "www."); k > 0 && !scheme {
		// glued to the words before it: "joinwww.spam.xyz"
		host, lower, end = host[k:], lower[k:], end-k
	}
	if strings.IndexByte(host, '@') >= 0 || strings.IndexByte(host, '.') < 0 {
		return // an e-mail address, or no domain
	}
	host = strings.TrimRight(host, ".:")
	dot := strings.LastIndexByte(host, '.')
	if dot < 0 || dot == len(host)-1 {
		return
	}
	tld := host[dot+1:]
	if !scheme && !hasPrefixFold(host, "www.") {
		known := false
		for _, t := range tlds {
			if strings.EqualFold(tld, t) {
				known = true
				break
			}
		}
		if !known {
			return
		}
	}
	for k := 0; k < len(tld); k++ {
		if !isLetterByte(tld[k]) {
			return // v1.2.3, 3.14
		}
	}
	if i := strings.IndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	fn(lowerASCII(host), lower[end:])
}

func hasPrefixFold(s, p string) bool { return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) }

func isLetterByte(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

var urlBytes = func() (t [256]bool) {
	for _, b := range []byte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#[]@!$&'*+,;=%") {
		t[b] = true
	}
	return t
}()

func isURLByte(b byte) bool { return urlBytes[b] }

// lowerASCII lower-cases host names without allocating when they already
// are.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// hasPhone finds a mobile number: 11 digits starting 1[3-9] (China),
// written together or in groups ("138 1234 5678"), or a "+" followed by 8
// to 15 digits.
func hasPhone(raw string, text []rune) bool {
	// in the match form separators are single spaces
	digits, first, second := 0, rune(0), rune(0)
	flush := func() bool {
		ok := digits == 11 && first == '1' && second >= '3' && second <= '9'
		digits = 0
		return ok
	}
	for i, r := range text {
		switch {
		case '0' <= r && r <= '9':
			if digits == 0 && i > 0 && isLetterASCII(text[i-1]) {
				digits = -100 // part of an id like v13812345678: not a phone on its own
			}
			digits++
			if digits == 1 {
				first = r
			} else if digits == 2 {
				second = r
			}
		case r == ' ' && digits > 0 && i+1 < len(text) && '0' <= text[i+1] && text[i+1] <= '9':
			// a group separator inside a number
		default:
			if flush() {
				return true
			}
			digits = 0
		}
	}
	if flush() {
		return true
	}
	// international: + then 8-15 digits with separators
	for i := 0; i < len(raw); i++ {
		if raw[i] != '+' {
			continue
		}
		n := 0
		for j := i + 1; j < len(raw); j++ {
			b := raw[j]
			if '0' <= b && b <= '9' {
				n++
			} else if b != ' ' && b != '-' && b != '(' && b != ')' {
				break
			}
		}
		if n >= 8 && n <= 15 {
			return true
		}
	}
	return false
}

// indexFold is strings.Index ignoring ASCII case.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// LinkHosts returns the hosts of the links a message carries: the
// platform's (entities, text links) and those written in its text, as the
// filter finds them (www. glued to words, bare domains with known endings).
func LinkHosts(text string, links []string) []string {
	var hosts []string
	for _, l := range links {
		if h, _ := splitURL(l); h != "" {
			hosts = append(hosts, h)
		}
	}
	scanLinks(text, func(host, _ string) { hosts = append(hosts, strings.ToLower(host)) })
	return hosts
}
