package bus

// Draining reports whether Drain has begun, so that a test can release a
// handler only once the drain is on.
func (c *Consumer) Draining() bool { return c.draining.Load() }
