package recognize

import (
	"bytes"
	"fmt"
	"html"
	"image"
	"image/png"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/otiai10/gosseract/v2"
)

// Symbol is one character Tesseract read, with its confidence (0–100) and
// the other characters it considered for that place, best first.
type Symbol struct {
	Char    string
	Conf    float64
	Choices []string
	Box     image.Rectangle
}

// reading is the outcome of one Tesseract call on one field image.
type reading struct {
	Words [][]Symbol
}

func (r reading) text(sep string) string {
	var b strings.Builder
	for i, w := range r.Words {
		if i > 0 {
			b.WriteString(sep)
		}
		for _, s := range w {
			b.WriteString(s.Char)
		}
	}
	return b.String()
}

func (r reading) symbols() []Symbol {
	var out []Symbol
	for _, w := range r.Words {
		out = append(out, w...)
	}
	return out
}

// conf is the mean symbol confidence, 0 when nothing was read.
func (r reading) conf() float64 {
	s := r.symbols()
	if len(s) == 0 {
		return 0
	}
	t := 0.0
	for _, x := range s {
		t += x.Conf
	}
	return t / float64(len(s))
}

// fieldSpec is how one field is read.
type fieldSpec struct {
	Lang      string // "eng" or "chi_sim"
	PSM       gosseract.PageSegMode
	Whitelist string
	TextPx    int // line height the field image is resampled to (0: as cut)
}

// engine is a pair of Tesseract instances, one per language, initialised
// once and reused: loading chi_sim costs far more than reading a field.
// An engine serves one goroutine at a time.
type engine struct {
	clients map[string]*gosseract.Client
}

func (e *engine) close() {
	for _, c := range e.clients {
		c.Close()
	}
}

// Engines is a fixed pool of Tesseract engines; Read blocks while all are
// busy, which bounds the memory and CPU of a worker.
type Engines struct {
	pool    chan *engine
	mu      sync.Mutex
	all     []*engine
	closed  bool
	tessdir string
}

// NewEngines makes a pool of n engines, created on first use. tessdata is
// the directory of the traineddata files ("" for Tesseract's default).
// Engines should run single-threaded (OMP_THREAD_LIMIT=1, see omp.go):
// the pool, not OpenMP, spreads the work over the cores.
func NewEngines(n int, tessdata string) *Engines {
	p := &Engines{pool: make(chan *engine, n), tessdir: tessdata}
	for i := 0; i < n; i++ {
		p.pool <- nil
	}
	return p
}

// Close frees every engine; the pool must not be used afterwards.
func (p *Engines) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, e := range p.all {
		e.close()
	}
	p.all = nil
}

// Available reports whether Tesseract has the languages the pipeline
// needs, for readiness checks.
func Available() error {
	langs, err := gosseract.GetAvailableLanguages()
	if err != nil {
		return err
	}
	have := strings.Join(langs, " ")
	for _, l := range []string{"eng", "chi_sim"} {
		if !strings.Contains(" "+have+" ", " "+l+" ") {
			return fmt.Errorf("tesseract language %s is not installed (tesseract-ocr-%s)", l, strings.ReplaceAll(l, "_", "-"))
		}
	}
	return nil
}

func (p *Engines) get() (*engine, error) {
	e := <-p.pool
	if e != nil {
		return e, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.pool <- nil
		return nil, fmt.Errorf("recognize: engines closed")
	}
	e = &engine{clients: map[string]*gosseract.Client{}}
	p.all = append(p.all, e)
	return e, nil
}

func (p *Engines) put(e *engine) { p.pool <- e }

var (
	reSym    = regexp.MustCompile(`^<span class='ocrx_cinfo' title='x_bboxes (\d+) (\d+) (\d+) (\d+); x_conf ([\d.]+)'>(.*?)</span>`)
	reChoice = regexp.MustCompile(`^<span class='ocrx_cinfo' id='choice_[^']*' title='x_confs ([\d.]+)'>(.*?)</span>`)
	reWord   = regexp.MustCompile(`^<span class='ocrx_word'`)
)

// read runs Tesseract on a grey field image with the field's settings.
func (p *Engines) read(img *image.Gray, spec fieldSpec) (reading, error) {
	e, err := p.get()
	if err != nil {
		return reading{}, err
	}
	defer p.put(e)
	c := e.clients[spec.Lang]
	if c == nil {
		c = gosseract.NewClient()
		if p.tessdir != "" {
			if err := c.SetTessdataPrefix(p.tessdir); err != nil {
				return reading{}, err
			}
		}
		if err := c.SetLanguage(spec.Lang); err != nil {
			return reading{}, err
		}
		e.clients[spec.Lang] = c
		// Per-symbol alternatives feed the check-digit repair of the code
		// fields and the vocabulary repairs of names (surnames, places).
		c.SetVariable("lstm_choice_mode", "2")
		c.SetVariable("hocr_char_boxes", "1")
		c.SetVariable("debug_file", "/dev/null")
		// Field images are small: no dictionary guesses across them.
		c.SetVariable("load_system_dawg", "0")
		c.SetVariable("load_freq_dawg", "0")
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.NoCompression}).Encode(&buf, img); err != nil {
		return reading{}, err
	}
	if err := c.SetImageFromBytes(buf.Bytes()); err != nil {
		return reading{}, err
	}
	if err := c.SetPageSegMode(spec.PSM); err != nil {
		return reading{}, err
	}
	if err := c.SetWhitelist(spec.Whitelist); err != nil {
		return reading{}, err
	}
	// A DPI stops Tesseract from guessing one (and warning about it).
	c.SetVariable("user_defined_dpi", "300")
	out, err := c.HOCRText()
	if err != nil {
		return reading{}, err
	}
	return parseHOCR(out), nil
}

// parseHOCR reads words, symbols, confidences and the LSTM's choices out
// of Tesseract's hOCR (hocr_char_boxes=1, lstm_choice_mode=2).
func parseHOCR(s string) reading {
	var r reading
	for i := 0; i < len(s); i++ {
		if s[i] != '<' {
			continue
		}
		rest := s[i:]
		if reWord.MatchString(rest) {
			r.Words = append(r.Words, nil)
			continue
		}
		if m := reSym.FindStringSubmatch(rest); m != nil {
			if len(r.Words) == 0 {
				r.Words = append(r.Words, nil)
			}
			conf, _ := strconv.ParseFloat(m[5], 64)
			x0, _ := strconv.Atoi(m[1])
			y0, _ := strconv.Atoi(m[2])
			x1, _ := strconv.Atoi(m[3])
			y1, _ := strconv.Atoi(m[4])
			w := &r.Words[len(r.Words)-1]
			*w = append(*w, Symbol{Char: html.UnescapeString(m[6]), Conf: conf, Box: image.Rect(x0, y0, x1, y1)})
			i += len(m[0]) - 1
			continue
		}
		if m := reChoice.FindStringSubmatch(rest); m != nil && len(r.Words) > 0 {
			w := r.Words[len(r.Words)-1]
			if len(w) > 0 {
				ch := html.UnescapeString(m[2])
				last := &w[len(w)-1]
				if ch != last.Char {
					last.Choices = append(last.Choices, ch)
				}
			}
			i += len(m[0]) - 1
		}
	}
	// Drop empty words (a word span with no symbols).
	out := r.Words[:0]
	for _, w := range r.Words {
		if len(w) > 0 {
			out = append(out, w)
		}
	}
	r.Words = out
	return r
}
