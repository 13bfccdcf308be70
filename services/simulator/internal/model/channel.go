package model

import "math/rand/v2"

// Channels are the values of the categorical channel feature; a log that
// keeps only numbers records a channel as its index here.
var Channels = []string{"web", "app", "pos"}

// ChannelMix is the usual share of each channel; ShiftedChannelMix is the
// mix after the categorical_shift fault (a new point-of-sale partner).
var (
	ChannelMix        = []float64{0.6, 0.3, 0.1}
	ShiftedChannelMix = []float64{0.15, 0.25, 0.6}
)

// SampleChannel draws a channel with the shares of mix.
func SampleChannel(rng *rand.Rand, mix []float64) string {
	u := rng.Float64()
	for i, share := range mix {
		if u < share {
			return Channels[i]
		}
		u -= share
	}
	return Channels[len(Channels)-1]
}

// ChannelIndex is c's index in Channels, -1 for an unknown channel.
func ChannelIndex(c string) int {
	for i, name := range Channels {
		if name == c {
			return i
		}
	}
	return -1
}
