package natsembed

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/medic-sre/medic/pkg/bus"
)

// MedicUsers returns one user per name of bus.Users, each with the
// permissions of bus.Permissions and a fresh random password, for a closed
// bus that lasts one run.
func MedicUsers() ([]User, error) {
	var users []User
	for _, name := range bus.Users() {
		g, err := bus.Permissions(name)
		if err != nil {
			return nil, err
		}
		pw, err := randomPassword()
		if err != nil {
			return nil, err
		}
		users = append(users, User{Name: name, Password: pw, Publish: g.Publish, Subscribe: g.Subscribe})
	}
	return users, nil
}

// randomPassword is 24 random bytes in hex: nothing to guess, nothing to
// quote in an environment variable.
func randomPassword() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("nats password: %w", err)
	}
	return hex.EncodeToString(b), nil
}
