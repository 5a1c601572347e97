package wecom

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/silenceper/wechat/v2/util"
)

// Crypt is one callback endpoint's message crypto (WXBizMsgCrypt): the
// SHA1 signature over the sorted token, timestamp, nonce and ciphertext,
// and AES-256-CBC with the key's first 16 bytes as IV, PKCS#7 padding to 32
// bytes, over random(16) + length(4, big-endian) + message + receive id.
type Crypt struct {
	token string
	key   []byte
}

// NewCrypt checks the EncodingAESKey (43 base64 characters).
func NewCrypt(token, encodingAESKey string) (*Crypt, error) {
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("wecom: invalid EncodingAESKey")
	}
	return &Crypt{token: token, key: key}, nil
}

// Sign computes msg_signature.
func (c *Crypt) Sign(timestamp, nonce, encrypted string) string {
	return util.Signature(c.token, timestamp, nonce, encrypted)
}

// Verify checks msg_signature in constant time.
func (c *Crypt) Verify(signature, timestamp, nonce, encrypted string) bool {
	want := c.Sign(timestamp, nonce, encrypted)
	return subtle.ConstantTimeCompare([]byte(want), []byte(signature)) == 1
}

// Errors of Decrypt.
var (
	ErrCiphertext = errors.New("wecom: malformed ciphertext")
	ErrReceiveID  = errors.New("wecom: wrong receive id")
)

// Decrypt returns the message and the receive id it was encrypted for.
// Unlike silenceper's util.DecryptMsg it accepts an empty receive id (the
// AI bot's callbacks carry none) and never panics on bad input.
func (c *Crypt) Decrypt(encrypted string) (msg []byte, receiveID string, err error) {
	ct, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil || len(ct) < aes.BlockSize || len(ct)%aes.BlockSize != 0 {
		return nil, "", ErrCiphertext
	}
	block, err := aes.NewCipher(c.key)
	if err != nil {
		return nil, "", fmt.Errorf("wecom: %w", err)
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, c.key[:16]).CryptBlocks(pt, ct)
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > 32 || pad > len(pt) {
		return nil, "", ErrCiphertext
	}
	pt = pt[:len(pt)-pad]
	if len(pt) < 20 {
		return nil, "", ErrCiphertext
	}
	n := binary.BigEndian.Uint32(pt[16:20])
	if uint64(n) > uint64(len(pt)-20) {
		return nil, "", ErrCiphertext
	}
	return pt[20 : 20+n], string(pt[20+n:]), nil
}

// Encrypt encrypts a message for receiveID with the given 16 random bytes
// (passive replies, and the tests' callback client).
func (c *Crypt) Encrypt(random []byte, msg []byte, receiveID string) string {
	return base64.StdEncoding.EncodeToString(util.AESEncryptMsg(random, msg, receiveID, c.key))
}
