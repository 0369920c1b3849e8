//go:build !unix

package main

import "time"

// processCPU is unknown here: the bench then reports wall-clock rates.
func processCPU() time.Duration { return 0 }
