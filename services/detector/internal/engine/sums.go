package engine

// sums are cells' values. They are float32, half the memory, while every
// value is exactly a float32 (a histogram's bucket counts and most rates
// are whole numbers), and all float64 once one value is not: a value reads
// back as the float64 it was, so an aggregate is the same either way.
type sums struct {
	narrow []float32
	// wide holds the values once one needed it; narrow is nil then.
	wide []float64
}

func (v *sums) len() int {
	if v.wide != nil {
		return len(v.wide)
	}
	return len(v.narrow)
}

func (v *sums) get(i int) float64 {
	if v.wide != nil {
		return v.wide[i]
	}
	return float64(v.narrow[i])
}

func (v *sums) set(i int, x float64) {
	if v.wide != nil {
		v.wide[i] = x
		return
	}
	if f := float32(x); float64(f) == x || x != x {
		v.narrow[i] = f
		return
	}
	v.widen()
	v.wide[i] = x
}

// widen moves the values to float64, for good.
func (v *sums) widen() {
	v.wide = make([]float64, len(v.narrow), cap(v.narrow))
	for i, f := range v.narrow {
		v.wide[i] = float64(f)
	}
	v.narrow = nil
}

// open makes room for n values at i, each fill.
func (v *sums) open(i, n int, fill float64) {
	if v.wide != nil {
		v.wide = open(v.wide, i, n)
	} else {
		v.narrow = open(v.narrow, i, n)
	}
	for j := i; j < i+n; j++ {
		v.set(j, fill)
	}
}

// dropFirst drops the first n values, moving the rest to the front.
func (v *sums) dropFirst(n int) {
	if v.wide != nil {
		v.wide = v.wide[:copy(v.wide, v.wide[n:])]
	} else {
		v.narrow = v.narrow[:copy(v.narrow, v.narrow[n:])]
	}
}
