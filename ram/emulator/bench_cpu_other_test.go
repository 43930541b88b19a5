//go:build !unix

package emulator_test

import "time"

// processCPU is not measured here: the benchmarks then report no CPU per request.
func processCPU() time.Duration { return 0 }
