package lottery

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strconv"
)

// The draw, so anyone can check it:
//
//  1. When the lottery opens, qunbot makes a random 32-byte seed, writes it
//     as 64 lowercase hex digits, and publishes commit = SHA-256 of those
//     64 characters (hex). Nobody, qunbot included, can change the seed
//     afterwards without the commitment showing it.
//  2. At the draw it publishes the seed and the entries: every member id
//     that entered, sorted as byte strings, ascending.
//  3. Pick i (i = 0, 1, 2, …): h = SHA-256(seed + ":" + i in decimal); r =
//     the first 8 bytes of h as a big-endian unsigned integer; take the
//     entry at index r mod (entries left) out of the entries left, kept in
//     sorted order. The first k picks win; when a prize is not claimed in
//     time, the next picks are the re-draws, in order.
//
// `qunbot lottery verify --seed S --commit C --entries FILE --winners K`
// does exactly this.

// Commit is the published commitment to a seed.
func Commit(seed string) string {
	h := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(h[:])
}

// Picks returns the first n picks of the draw over entries (in any
// order: they are sorted first), or all of them when n is larger.
func Picks(seed string, entries []string, n int) []string {
	left := slices.Clone(entries)
	slices.Sort(left)
	left = slices.Compact(left)
	out := make([]string, 0, min(n, len(left)))
	for i := 0; len(out) < n && len(left) > 0; i++ {
		h := sha256.Sum256([]byte(seed + ":" + strconv.Itoa(i)))
		j := int(binary.BigEndian.Uint64(h[:8]) % uint64(len(left)))
		out = append(out, left[j])
		left = slices.Delete(left, j, j+1)
	}
	return out
}
