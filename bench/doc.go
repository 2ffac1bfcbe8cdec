// Package bench holds tokenwall's load benchmarks. Each compares tokenwall with a baseline
// measured in the same run and prints the ratio, because absolute figures on a shared
// 2-core machine are noise.
package bench
