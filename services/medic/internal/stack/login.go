package stack

// loginEnv is how the process name logs in to the embedded server: as the
// user of its own name. With an external server it inherits this process's
// NATS_USER, NATS_PASSWORD or NATS_CREDS instead.
func (s *Stack) loginEnv(name string) []string {
	u, ok := s.logins[name]
	if !ok {
		return nil
	}
	// NATS_CREDS is emptied so that one inherited from the shell does not
	// clash with the user and password.
	return []string{"NATS_USER=" + u.Name, "NATS_PASSWORD=" + u.Password, "NATS_CREDS="}
}
