package wecom

import (
	"strings"
	"testing"
)

// Known answers from Tencent's published WXBizMsgCrypt samples.
func TestCryptKnownAnswers(t *testing.T) {
	// the URL-verification sample's signature (token QDG6eK)
	c, err := NewCrypt("QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sign("1409659589", "263014780", "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="); got != "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3" {
		t.Errorf("signature %s", got)
	}
	// the Python sample's echostr decrypts to its number, for the corp id
	c2, err := NewCrypt("x", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt")
	if err != nil {
		t.Fatal(err)
	}
	msg, rid, err := c2.Decrypt("fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA==")
	if err != nil || string(msg) != "1288432023552776189" || rid != "ww1436e0e65a779aee" {
		t.Errorf("decrypt %q %q %v", msg, rid, err)
	}
	// the Java sample's encryption
	c3, err := NewCrypt("pamtest", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	if err != nil {
		t.Fatal(err)
	}
	if got := c3.Encrypt([]byte("aaaabbbbccccdddd"), []byte("我是中文abcd123"), "wxb11529c136998cb6"); got != "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg==" {
		t.Errorf("encrypt %s", got)
	}
}

func TestDecryptEmptyReceiveIDAndGarbage(t *testing.T) {
	c, _ := NewCrypt("t", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	enc := c.Encrypt([]byte("0123456789abcdef"), []byte(`{"msgid":"1"}`), "")
	msg, rid, err := c.Decrypt(enc)
	if err != nil || string(msg) != `{"msgid":"1"}` || rid != "" {
		t.Fatalf("%q %q %v", msg, rid, err)
	}
	for _, bad := range []string{"", "!!!", "AAAA", strings.Repeat("A", 44), enc[:len(enc)-4] + "AAAA"} {
		if _, _, err := c.Decrypt(bad); err == nil {
			t.Errorf("%q decrypted", bad)
		}
	}
	if _, err := NewCrypt("t", "short"); err == nil {
		t.Error("a short key was accepted")
	}
}

func FuzzDecrypt(f *testing.F) {
	c, _ := NewCrypt("t", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")
	f.Add(c.Encrypt([]byte("0123456789abcdef"), []byte("hello"), "ww1"))
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	f.Fuzz(func(t *testing.T, s string) {
		msg, rid, err := c.Decrypt(s)
		if err == nil && len(msg)+len(rid) > len(s) {
			t.Fatalf("decrypted more than it was given")
		}
	})
}
