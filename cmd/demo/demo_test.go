package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vkdep.dev/internal/vktest"
	"vkdep.dev/vkdep"
)

var update = flag.Bool("update", false, "regenerate the golden frames in testdata/")

// Golden frames: deterministic mode, frame n at animation time n×goldenStep.
const (
	goldenFrames = 3
	goldenStep   = 750 * time.Millisecond
)

// Comparison tolerance: a pixel differs when a channel is off by more than pixelTolerance, and
// at most maxDiffFraction of the pixels may differ. Goldens and renders are compared at half
// resolution (2×2 box filter), which keeps the files small and absorbs single-pixel noise from
// differences in floating-point code generation between CPUs.
const (
	pixelTolerance  = 12
	maxDiffFraction = 0.005
)

// TestHeadlessGolden renders a few frames at fixed animation times and compares them with the
// committed goldens (-update regenerates them), which were made on lavapipe. On lavapipe the
// frames must match them pixel for pixel (within pixelTolerance); on any device they must show
// what the goldens show (tolerantCompare): a GPU's floating point differs from lavapipe's (on the
// H200 ~8 % of pixels differ, the worst channel by ~190) but draws the same composite.
func TestHeadlessGolden(t *testing.T) {
	d := vktest.Open(t)
	exact := strings.Contains(d.Info().Name, "llvmpipe")
	if !exact {
		t.Logf("%s is not lavapipe, where the goldens were made: comparing what the frames show", d.Info().Name)
	}
	frames := map[int]*image.RGBA{}
	cfg := Config{Deterministic: true, Step: goldenStep, HangAt: -1, KillAt: -1}
	rep, err := runScene(d, cfg, goldenFrames, func(n int, img *image.RGBA) error {
		frames[n] = img
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v", rep)
	for n := range goldenFrames {
		got := halve(frames[n])
		path := filepath.Join("testdata", fmt.Sprintf("golden-%d.png", n))
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := writePNGBest(path, got); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := readPNG(path)
		if err != nil {
			t.Fatalf("%v (regenerate with go test ./cmd/demo -run TestHeadlessGolden -args -update)", err)
		}
		diff, worst := compare(got, want)
		t.Logf("frame %d: %.3f%% of pixels differ, worst channel difference %d", n, 100*diff, worst)
		problems := tolerantCompare(got, want)
		for _, p := range problems {
			t.Errorf("frame %d does not show what %s shows: %s", n, path, p)
		}
		if (exact && diff > maxDiffFraction) || len(problems) > 0 {
			bad := filepath.Join(t.TempDir(), fmt.Sprintf("got-%d.png", n))
			writePNGBest(bad, got)
			if exact {
				t.Errorf("frame %d differs from %s in %.2f%% of pixels (tolerance %.2f%%); this run's frame: %s",
					n, path, 100*diff, 100*maxDiffFraction, bad)
			} else {
				t.Logf("this run's frame %d: %s", n, bad)
			}
		}
	}
}

// The tolerant comparison, for frames of devices other than the goldens' (all at half
// resolution, like the goldens). A frame shows what the golden shows when:
//   - each client's window content has the golden's colour statistics: per channel mean within
//     regionMeanTol and standard deviation within regionStdTol, and the mean of each of its 4×4
//     blocks within blockMeanTol (the picture's layout, not its exact pixels: a GPU's sin() and a
//     fractal's escape count differ in the last bits, which moves edges by a pixel or two);
//   - every 16-pixel text row of the frame outside the client windows (background, window
//     frames and titles, the HUD) matches the golden pixel for pixel within pixelTolerance in all
//     but bandDiffFraction of its pixels, except deviceRows, whose words name the device's
//     VkQueues, which must only hold text.
//
// A missing, stale, swapped or misplaced client frame, or a missing or wrong HUD row, breaks these
// by far (TestGoldenTolerance).
const (
	regionMeanTol    = 16
	regionStdTol     = 24
	blockMeanTol     = 48
	bandDiffFraction = 0.02
	textRowPixels    = 8 // a 16-pixel text row at half resolution
)

// deviceRows are the text rows that say how many VkQueues the device has and where the
// compositor runs (hud.go): they differ between devices.
var deviceRows = map[int]bool{2: true, 3: true}

// clientRect is client i's window content at half resolution, inset to whole pixels (the 2×2
// filter mixes the content's edge with the frame).
func clientRect(i int) image.Rectangle {
	x, y := windowX(i), windowY
	return image.Rect((x+1)/2+1, (y+1)/2+1, (x+clientSize)/2-1, (y+clientSize)/2-1)
}

// regionStats returns the per-channel mean and standard deviation of img over r.
func regionStats(img *image.RGBA, r image.Rectangle) (mean, sd [3]float64) {
	var sq [3]float64
	n := float64(r.Dx() * r.Dy())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			o := img.PixOffset(x, y)
			for c := range 3 {
				v := float64(img.Pix[o+c])
				mean[c] += v
				sq[c] += v * v
			}
		}
	}
	for c := range 3 {
		mean[c] /= n
		sd[c] = math.Sqrt(max(sq[c]/n-mean[c]*mean[c], 0))
	}
	return mean, sd
}

// tolerantCompare returns what got does not show of want (nil: it shows it all).
func tolerantCompare(got, want *image.RGBA) []string {
	if got.Rect != want.Rect {
		return []string{fmt.Sprintf("size %v, want %v", got.Rect, want.Rect)}
	}
	var problems []string
	far := func(a, b [3]float64, tol float64) bool {
		for c := range 3 {
			if math.Abs(a[c]-b[c]) > tol {
				return true
			}
		}
		return false
	}
	var windows []image.Rectangle
	for i := range kinds {
		r := clientRect(i)
		windows = append(windows, r.Inset(-2))
		gm, gs := regionStats(got, r)
		wm, ws := regionStats(want, r)
		if far(gm, wm, regionMeanTol) || far(gs, ws, regionStdTol) {
			problems = append(problems, fmt.Sprintf("%s window: mean %.0f sd %.0f, golden mean %.0f sd %.0f (tolerance %d, %d)",
				kinds[i].name, gm, gs, wm, ws, regionMeanTol, regionStdTol))
			continue
		}
		for by := range 4 {
			for bx := range 4 {
				b := image.Rect(r.Min.X+bx*r.Dx()/4, r.Min.Y+by*r.Dy()/4, r.Min.X+(bx+1)*r.Dx()/4, r.Min.Y+(by+1)*r.Dy()/4)
				gm, _ := regionStats(got, b)
				wm, _ := regionStats(want, b)
				if far(gm, wm, blockMeanTol) {
					problems = append(problems, fmt.Sprintf("%s window, block (%d,%d): mean %.0f, golden %.0f (tolerance %d)",
						kinds[i].name, bx, by, gm, wm, blockMeanTol))
				}
			}
		}
	}
	b := got.Rect
	for row := 0; row*textRowPixels < b.Dy(); row++ {
		band := image.Rect(0, row*textRowPixels, b.Dx(), min((row+1)*textRowPixels, b.Dy()))
		if deviceRows[row] {
			if _, sd := regionStats(got, band); sd[0]+sd[1]+sd[2] < 15 {
				problems = append(problems, fmt.Sprintf("text row %d is empty", row))
			}
			continue
		}
		differ, n := 0, 0
		for y := band.Min.Y; y < band.Max.Y; y++ {
			for x := band.Min.X; x < band.Max.X; x++ {
				if in := image.Pt(x, y); in.In(windows[0]) || in.In(windows[1]) || in.In(windows[2]) {
					continue
				}
				n++
				o := got.PixOffset(x, y)
				for c := range 3 {
					if d := int(got.Pix[o+c]) - int(want.Pix[o+c]); d > pixelTolerance || d < -pixelTolerance {
						differ++
						break
					}
				}
			}
		}
		if n > 0 && float64(differ) > bandDiffFraction*float64(n) {
			problems = append(problems, fmt.Sprintf("text row %d: %d of its %d pixels outside the windows differ (tolerance %.0f%%)",
				row, differ, n, 100*bandDiffFraction))
		}
	}
	return problems
}

// TestGoldenTolerance shows that the tolerant comparison passes a frame that differs from the
// golden as a GPU's does (edges moved by rounding, ~8 % of pixels, up to ~190 in a channel: more
// than the exact comparison allows) and fails a broken composite: a client window left empty,
// two clients' frames swapped, a client frame drawn a few pixels off, a HUD row missing.
func TestGoldenTolerance(t *testing.T) {
	if len(kinds) != 3 {
		t.Fatalf("%d clients: clientRect and the windows list assume 3", len(kinds))
	}
	for n := range goldenFrames {
		want, err := readPNG(filepath.Join("testdata", fmt.Sprintf("golden-%d.png", n)))
		if err != nil {
			t.Fatal(err)
		}
		if p := tolerantCompare(want, want); len(p) > 0 {
			t.Fatalf("golden %d does not match itself: %v", n, p)
		}
		rounded := gpuRounding(want, uint64(n))
		diff, worst := compare(rounded, want)
		t.Logf("golden %d with GPU-like rounding: %.1f%% of pixels differ, worst channel %d", n, 100*diff, worst)
		if diff < 0.05 || worst < 150 {
			t.Fatalf("the rounding model is too gentle to show anything: %.1f%% differ, worst %d", 100*diff, worst)
		}
		if p := tolerantCompare(rounded, want); len(p) > 0 {
			t.Errorf("golden %d with GPU-like rounding fails the tolerant comparison: %v", n, p)
		}
		broken := map[string]*image.RGBA{}
		for i := range kinds {
			img := clone(want)
			r := clientRect(i).Inset(-1)
			draw.Draw(img, r, image.Black, image.Point{}, draw.Src)
			broken[fmt.Sprintf("%s window empty", kinds[i].name)] = img
		}
		img := clone(want)
		draw.Draw(img, clientRect(0), want, clientRect(2).Min, draw.Src)
		draw.Draw(img, clientRect(2), want, clientRect(0).Min, draw.Src)
		broken["plasma and particles swapped"] = img
		img = clone(want)
		r := clientRect(1)
		draw.Draw(img, r, want, r.Min.Add(image.Pt(12, 12)), draw.Src)
		broken["fractal drawn 24 pixels off"] = img
		img = clone(want)
		hudRow := image.Rect(0, 24*textRowPixels, want.Rect.Dx(), 25*textRowPixels)
		draw.Draw(img, hudRow, want, image.Pt(0, 33*textRowPixels), draw.Src) // an empty panel row over it
		broken["HUD row 24 (plasma's queue) missing"] = img
		for name, img := range broken {
			if p := tolerantCompare(img, want); len(p) == 0 {
				t.Errorf("golden %d, %s: the tolerant comparison passes it", n, name)
			} else {
				t.Logf("golden %d, %s: %s", n, name, p[0])
			}
		}
	}
}

// gpuRounding returns img as a device whose arithmetic rounds differently from lavapipe's might
// draw it: inside the client windows every channel off by up to 2, and half of the pixels taken
// from up to three pixels away (edges moved by rounding), which at sharp edges is a large
// difference.
func gpuRounding(img *image.RGBA, seed uint64) *image.RGBA {
	out := clone(img)
	rng := rand.New(rand.NewPCG(seed, 42))
	for i := range kinds {
		r := clientRect(i)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				o := out.PixOffset(x, y)
				if rng.IntN(2) == 0 {
					sx := min(max(x+rng.IntN(7)-3, r.Min.X), r.Max.X-1)
					sy := min(max(y+rng.IntN(7)-3, r.Min.Y), r.Max.Y-1)
					copy(out.Pix[o:o+3], img.Pix[img.PixOffset(sx, sy):])
				}
				for c := range 3 {
					out.Pix[o+c] = uint8(min(max(int(out.Pix[o+c])+rng.IntN(5)-2, 0), 255))
				}
			}
		}
	}
	return out
}

func clone(img *image.RGBA) *image.RGBA {
	out := image.NewRGBA(img.Rect)
	copy(out.Pix, img.Pix)
	return out
}

// TestHangRecovers runs the scene in real time and makes the plasma client submit hung work: its
// job must time out, its queue be banned and killed, the work end through the abort word, the
// client come back on a new queue and render again, and the compositor present again after a
// stall bounded by about the job timeout.
func TestHangRecovers(t *testing.T) {
	d := vktest.Open(t)
	// Long enough that a normal frame never times out while the rest of make test loads the
	// CPU (a fractal frame has been seen 336 ms on the GPU then), short enough to keep the test
	// quick.
	const timeout = time.Second
	// The plasma client hangs at frame 10; the particles client's queue is killed at frame 30.
	cfg := Config{FPS: 30, JobTimeout: timeout, HangAt: 10, HangClient: 0, KillAt: 30, KillClient: 2}
	rep, err := runScene(d, cfg, 50, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%v", rep)
	t.Logf("longest gap between compositor frames: %v (job timeout %v, one shared VkQueue: %v)", rep.MaxGap, timeout, rep.Shared)
	c := rep.Clients[0]
	if !errors.Is(c.HangErr, vkdep.ErrTimedOut) {
		t.Errorf("hung job completed with %v, want ErrTimedOut", c.HangErr)
	}
	if c.Timeouts != 1 || c.Kills != 1 || c.Name != "plasma#2" {
		t.Errorf("plasma client: %d timeouts, %d kills, now on %s; want 1, 1, plasma#2", c.Timeouts, c.Kills, c.Name)
	}
	if !c.GateAborted {
		t.Error("the hung work did not end through the queue's abort word")
	}
	if c.AfterRecover == 0 {
		t.Error("the client rendered no frame on its new queue")
	}
	if rep.Frames != 50 {
		t.Errorf("the compositor presented %d frames, want 50", rep.Frames)
	}
	// Generous: machines are noisy. On one VkQueue the stall is about the job timeout; with the
	// compositor on its own VkQueue it should be at most that (a hang may hold up other VkQueues
	// of the device until its abort).
	if limit := timeout + 2*time.Second; rep.MaxGap > limit {
		t.Errorf("the compositor stalled %v, more than %v", rep.MaxGap, limit)
	}
	// Only the hung client is blamed: the others' jobs queued behind the hang on a shared
	// VkQueue are not timed out.
	if f := rep.Clients[1]; f.Timeouts != 0 || f.Kills != 0 || f.Frames == 0 {
		t.Errorf("client %s was disturbed: %+v", f.Name, f)
	}
	if p := rep.Clients[2]; p.Timeouts != 0 || p.Kills != 1 || p.Name != "particles#2" || p.AfterRecover == 0 {
		t.Errorf("killed client: %s, %d timeouts, %d kills, %d frames after recovery; want particles#2, 0, 1, some",
			p.Name, p.Timeouts, p.Kills, p.AfterRecover)
	}
}

// TestWindowed builds the demo and runs it in a window under xvfb-run: it must present its
// frames with the validation layer silent, and the screenshot must be the composited scene.
func TestWindowed(t *testing.T) {
	xvfb, err := exec.LookPath("xvfb-run")
	if err != nil {
		if vktest.SkipAllowed() {
			t.Skip("xvfb-run missing, skipped because VKDEP_SKIP_NO_DEVICE=1")
		}
		t.Fatalf("xvfb-run not found (make deps installs it): %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "demo")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	shot := filepath.Join(dir, "shot.png")
	// 61 frames 25 ms apart end at 1.5 s, the time of golden frame 2.
	cmd := exec.Command(xvfb, "-a", "-s", "-screen 0 1280x720x24", bin,
		"-frames", "61", "-deterministic", "-step", "25ms", "-validate", "-screenshot", shot)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("demo under xvfb-run (%v):\n%s", time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("demo: %v", err)
	}
	got, err := readPNG(shot)
	if err != nil {
		t.Fatal(err)
	}
	if b := got.Bounds(); b.Dx() != defaultWidth || b.Dy() != defaultHeight {
		t.Fatalf("screenshot is %v, want the %dx%d window", b, defaultWidth, defaultHeight)
	}
	if sd := stddev(got); sd < 20 {
		t.Fatalf("screenshot is blank (standard deviation %.1f)", sd)
	}
	want, err := readPNG(filepath.Join("testdata", fmt.Sprintf("golden-%d.png", goldenFrames-1)))
	if err != nil {
		t.Fatal(err)
	}
	for i := range kinds {
		r := image.Rect(windowX(i), windowY, windowX(i)+clientSize, windowY+clientSize)
		g := meanColor(got, r)
		w := meanColor(want, image.Rect(r.Min.X/2, r.Min.Y/2, r.Max.X/2, r.Max.Y/2))
		t.Logf("%s window: screenshot mean %v, headless golden %v", kinds[i].name, g, w)
		for c := range 3 {
			if d := g[c] - w[c]; d > 10 || d < -10 {
				t.Errorf("%s window: mean colour %v in the screenshot, %v in the headless frame", kinds[i].name, g, w)
				break
			}
		}
	}

	// A hung client in the window: on lavapipe's single VkQueue the present is where a hang
	// could trap the VkQueue lock; the run must still see the ban, the recovery, and finish. The
	// window is resized at frame 60, so the swapchain is recreated under validation too.
	t.Run("hung_client", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		trace := filepath.Join(t.TempDir(), "demo.trace.json")
		cmd := exec.CommandContext(ctx, xvfb, "-a", "-s", "-screen 0 1280x720x24", bin,
			"-frames", "90", "-hang-at", "30", "-job-timeout", "1s", "-resize-at", "60", "-validate", "-trace", trace)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		t.Logf("demo under xvfb-run (%v):\n%s", time.Since(start).Round(time.Millisecond), out)
		if err != nil {
			t.Fatalf("demo: %v", err)
		}
		if !strings.Contains(string(out), "plasma#2     frames") || !strings.Contains(string(out), "timeouts 1, kills 1") ||
			!strings.Contains(string(out), "aborted through the abort word: true") {
			t.Errorf("the hung client was not timed out, killed, aborted and recovered")
		}
		// -trace: the timeline holds the compositor's and every client's jobs, the hung one
		// with its timeout.
		data, err := os.ReadFile(trace)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			TraceEvents []struct {
				Ph   string         `json:"ph"`
				Args map[string]any `json:"args"`
			} `json:"traceEvents"`
		}
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatalf("-trace JSON: %v", err)
		}
		queues, timedOut := map[string]bool{}, false
		for _, ev := range doc.TraceEvents {
			if q, ok := ev.Args["queue"].(string); ok {
				queues[q] = true
			}
			if e, ok := ev.Args["error"].(string); ok && strings.Contains(e, "timed out") {
				timedOut = true
			}
		}
		for _, q := range []string{"compositor", "plasma#1", "plasma#2", "fractal#1", "particles#1"} {
			if !queues[q] {
				t.Errorf("-trace has no job of queue %q (has %v)", q, queues)
			}
		}
		if !timedOut {
			t.Errorf("-trace does not show the timed-out job")
		}
		if _, err := os.Stat(strings.TrimSuffix(trace, ".json") + ".svg"); err != nil {
			t.Error(err)
		}
	})
}

// halve box-filters img to half its size.
func halve(img *image.RGBA) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx()/2, b.Dy()/2))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			for c := range 4 {
				sum := 0
				for dy := range 2 {
					for dx := range 2 {
						sum += int(img.Pix[img.PixOffset(2*x+dx, 2*y+dy)+c])
					}
				}
				out.Pix[out.PixOffset(x, y)+c] = uint8((sum + 2) / 4)
			}
		}
	}
	return out
}

// compare returns the fraction of pixels of a and b that differ by more than pixelTolerance in a
// channel, and the largest channel difference.
func compare(a, b *image.RGBA) (float64, int) {
	if a.Rect != b.Rect {
		return 1, 255
	}
	differ, worst := 0, 0
	for i := 0; i < len(a.Pix); i += 4 {
		bad := false
		for c := range 3 {
			d := int(a.Pix[i+c]) - int(b.Pix[i+c])
			d = max(d, -d)
			worst = max(worst, d)
			bad = bad || d > pixelTolerance
		}
		if bad {
			differ++
		}
	}
	return float64(differ) / float64(len(a.Pix)/4), worst
}

func meanColor(img *image.RGBA, r image.Rectangle) [3]float64 {
	var sum [3]float64
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			o := img.PixOffset(x, y)
			for c := range 3 {
				sum[c] += float64(img.Pix[o+c])
			}
			n++
		}
	}
	for c := range sum {
		sum[c] /= float64(max(n, 1))
	}
	return sum
}

func stddev(img *image.RGBA) float64 {
	var sum, sq float64
	n := float64(len(img.Pix) / 4)
	for i := 0; i < len(img.Pix); i += 4 {
		v := float64(img.Pix[i]) + float64(img.Pix[i+1]) + float64(img.Pix[i+2])
		sum += v
		sq += v * v
	}
	mean := sum / n
	return math.Sqrt(max(sq/n-mean*mean, 0)) / 3
}

func readPNG(path string) (*image.RGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rgba := image.NewRGBA(img.Bounds())
	draw.Draw(rgba, rgba.Rect, img, img.Bounds().Min, draw.Src)
	return rgba, nil
}

func writePNGBest(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
