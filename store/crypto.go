package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeyEnv is the environment variable that holds the token encryption keys.
const KeyEnv = "CRMBOT_ENCRYPTION_KEY"

// sealVersion prefixes every ciphertext so the format can change later.
const sealVersion = "v1"

// keyIDLen is the length in hex characters of a key id.
const keyIDLen = 8

// Keyring encrypts secrets at rest with AES-256-GCM. The first key seals; every
// key opens, chosen by the key id each ciphertext carries. A Keyring is
// immutable and safe for concurrent use.
//
// A sealed value reads "v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>";
// the key id is derived from the key by SHA-256, so it never reveals the key.
type Keyring struct {
	ids   []string // ids[0] is the current key
	aeads map[string]cipher.AEAD
}

// NewKeyring builds a keyring from raw 32-byte keys, the first being current.
func NewKeyring(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no key given", KeyEnv)
	}
	k := &Keyring{aeads: make(map[string]cipher.AEAD, len(keys))}
	for i, key := range keys {
		if len(key) != 32 {
			return nil, fmt.Errorf("%s: key %d is %d bytes, want 32 (generate one with: openssl rand -base64 32)", KeyEnv, i+1, len(key))
		}
		id := keyID(key)
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("%s: key %d is listed twice", KeyEnv, i+1)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("%s: key %d: %w", KeyEnv, i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%s: key %d: %w", KeyEnv, i+1, err)
		}
		k.ids = append(k.ids, id)
		k.aeads[id] = aead
	}
	return k, nil
}

// ParseKeyring parses CRMBOT_ENCRYPTION_KEY's values: standard base64 (padded
// or not) 32-byte keys, the first current. Errors name the variable and the
// key's position, never its value.
func ParseKeyring(encoded []string) (*Keyring, error) {
	var keys [][]byte
	for i, s := range encoded {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		key, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			key, err = base64.RawStdEncoding.DecodeString(s)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: key %d is not base64 (generate one with: openssl rand -base64 32)", KeyEnv, i+1)
		}
		keys = append(keys, key)
	}
	return NewKeyring(keys...)
}

// ParseKeyEnv parses the comma-separated value of CRMBOT_ENCRYPTION_KEY.
func ParseKeyEnv(value string) (*Keyring, error) {
	return ParseKeyring(strings.Split(value, ","))
}

// GenerateKey returns a fresh random key in the form CRMBOT_ENCRYPTION_KEY
// takes (what `openssl rand -base64 32` prints).
func GenerateKey() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(key), nil
}

// RandomKeyring returns a keyring with one fresh random key: for the embedded
// store, whose state dies with the process anyway, and for tests.
func RandomKeyring() (*Keyring, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("random keyring: %w", err)
	}
	return NewKeyring(key)
}

func keyID(key []byte) string {
	// Domain-separated so the id is not the SHA-256 of the key someone might
	// compute elsewhere; 32 bits only tell keys apart, they reveal nothing.
	sum := sha256.Sum256(append([]byte("crmbot key id\x00"), key...))
	return hex.EncodeToString(sum[:keyIDLen/2])
}

// CurrentKeyID is the id of the key new ciphertexts are sealed with.
func (k *Keyring) CurrentKeyID() string { return k.ids[0] }

// KeyIDs lists the ids of all keys, current first.
func (k *Keyring) KeyIDs() []string { return append([]string(nil), k.ids...) }

// AAD builds associated data from parts, length-prefixed so that no two
// different part lists encode alike ("ab","c" ≠ "a","bc").
func AAD(parts ...string) []byte {
	b := []byte("crmbot/aad/v1")
	for _, p := range parts {
		b = binary.BigEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

// Seal encrypts plaintext with the current key, bound to aad.
func (k *Keyring) Seal(plaintext, aad []byte) (string, error) {
	id := k.ids[0]
	aead := k.aeads[id]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := aead.Seal(nonce, nonce, plaintext, aad)
	return sealVersion + "." + id + "." + base64.RawURLEncoding.EncodeToString(out), nil
}

// ParseSealed splits a sealed value into its key id and raw bytes (nonce ‖
// ciphertext ‖ tag). It checks the shape only, not authenticity.
func ParseSealed(sealed string) (keyID string, raw []byte, err error) {
	version, rest, ok := strings.Cut(sealed, ".")
	if !ok || version != sealVersion {
		return "", nil, fmt.Errorf("%w: unknown format", ErrUndecryptable)
	}
	keyID, body, ok := strings.Cut(rest, ".")
	if !ok || len(keyID) != keyIDLen || strings.ToLower(keyID) != keyID {
		return "", nil, fmt.Errorf("%w: bad key id", ErrUndecryptable)
	}
	if _, err := hex.DecodeString(keyID); err != nil {
		return "", nil, fmt.Errorf("%w: bad key id", ErrUndecryptable)
	}
	raw, err = base64.RawURLEncoding.Strict().DecodeString(body)
	if err != nil {
		return "", nil, fmt.Errorf("%w: bad encoding", ErrUndecryptable)
	}
	// 12-byte GCM nonce plus 16-byte tag at the least.
	if len(raw) < 12+16 {
		return "", nil, fmt.Errorf("%w: too short", ErrUndecryptable)
	}
	return keyID, raw, nil
}

// Open decrypts a sealed value bound to aad. An unknown key id gives
// ErrUnknownKeyID; anything malformed or unauthentic gives ErrUndecryptable.
func (k *Keyring) Open(sealed string, aad []byte) ([]byte, error) {
	id, raw, err := ParseSealed(sealed)
	if err != nil {
		return nil, err
	}
	aead, ok := k.aeads[id]
	if !ok {
		return nil, fmt.Errorf("%w: key id %s", ErrUnknownKeyID, id)
	}
	ns := aead.NonceSize()
	pt, err := aead.Open(nil, raw[:ns], raw[ns:], aad)
	if err != nil {
		return nil, fmt.Errorf("%w: key id %s", ErrUndecryptable, id)
	}
	return pt, nil
}

// Reseal re-encrypts a sealed value with the current key when it was sealed
// with another one; changed reports whether out differs from sealed.
func (k *Keyring) Reseal(sealed string, aad []byte) (out string, changed bool, err error) {
	id, _, err := ParseSealed(sealed)
	if err != nil {
		return "", false, err
	}
	if id == k.ids[0] {
		if _, err := k.Open(sealed, aad); err != nil {
			return "", false, err
		}
		return sealed, false, nil
	}
	pt, err := k.Open(sealed, aad)
	if err != nil {
		return "", false, err
	}
	out, err = k.Seal(pt, aad)
	if err != nil {
		return "", false, err
	}
	return out, true, nil
}

// errNoKeyring guards constructors that need a keyring.
var errNoKeyring = errors.New("store: a Keyring is required (" + KeyEnv + ")")

// RequireKeyring returns an error naming CRMBOT_ENCRYPTION_KEY when k is nil.
func RequireKeyring(k *Keyring) error {
	if k == nil {
		return errNoKeyring
	}
	return nil
}
