// reid_fixture is the task every language's example does on the same
// committed fixture (examples/data): RLCC pseudo labels for generation 0's
// re-ID features, one more RLCC generation on generation 1's, then the
// labels and the training targets. Prints exactly what reid_fixture.c prints.
//
//	cd examples/go && go run . ../data
package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"librlcc.org/go/rlcc"
)

var shapePattern = regexp.MustCompile(`'shape': \((\d+), (\d+)\)`)

// loadNpy reads a 2-D little-endian float32 C-order .npy file (format 1.0).
func loadNpy(path string) ([]float32, int, int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(raw) < 10 || string(raw[:8]) != "\x93NUMPY\x01\x00" {
		return nil, 0, 0, fmt.Errorf("%s: not a version 1.0 .npy file", path)
	}
	headerEnd := 10 + int(binary.LittleEndian.Uint16(raw[8:10]))
	header := string(raw[10:headerEnd])
	shape := shapePattern.FindStringSubmatch(header)
	if !strings.Contains(header, "'descr': '<f4'") || !strings.Contains(header, "'fortran_order': False") || shape == nil {
		return nil, 0, 0, fmt.Errorf("%s: not a 2-D float32 C-order array", path)
	}
	rows, _ := strconv.Atoi(shape[1])
	cols, _ := strconv.Atoi(shape[2])
	body := raw[headerEnd:]
	if len(body) != rows*cols*4 {
		return nil, 0, 0, fmt.Errorf("%s: %d bytes of data for %d x %d", path, len(body), rows, cols)
	}
	values := make([]float32, rows*cols)
	for i := range values {
		values[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
	}
	return values, rows, cols, nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	dir := "examples/data"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	var features [2][]float32
	var n, d int
	for g := range features {
		var err error
		if features[g], n, d, err = loadNpy(filepath.Join(dir, fmt.Sprintf("reid_gen%d.npy", g))); err != nil {
			return err
		}
	}
	// RLCC's defaults, with neighbour lists sized for 10 images per identity
	pseudo := rlcc.DefaultPseudoOptions()
	pseudo.K1, pseudo.K2 = 10, 3
	refiner, err := rlcc.NewRefiner(n, d, &pseudo, nil)
	if err != nil {
		return err
	}
	defer refiner.Close()
	fmt.Printf("librlcc %s, %d samples x %d\n", rlcc.Version(), n, d)
	for g, x := range features {
		if err := refiner.StepMatrix(x, 32); err != nil {
			return err
		}
		fmt.Printf("generation %d: %d classes, reliability threshold %.6f\n", g, refiner.Classes(), refiner.Threshold())
		labels, err := refiner.Labels()
		if err != nil {
			return err
		}
		fmt.Print("labels:")
		for _, label := range labels {
			fmt.Printf(" %d", label)
		}
		fmt.Println()
	}
	targets, err := refiner.Targets(nil)
	if err != nil {
		return err
	}
	k := refiner.Classes()
	total := 0.0
	for _, value := range targets { // in order, in double, as the C example sums
		total += float64(value)
	}
	fmt.Printf("targets: %d x %d, total %.6f\n", n, k, total)
	best := make([]int, n)
	order := make([]int, n)
	for i := range best {
		order[i] = i
		for c := 1; c < k; c++ {
			if targets[i*k+c] > targets[i*k+best[i]] {
				best[i] = c
			}
		}
	}
	weight := func(i int) float32 { return targets[i*k+best[i]] }
	// smallest top weight, then lowest index
	sort.SliceStable(order, func(a, b int) bool { return weight(order[a]) < weight(order[b]) })
	for _, i := range order[:5] {
		fmt.Printf("uncertain sample %d: class %d, weight %.6f\n", i, best[i], weight(i))
	}
	return nil
}
