package recognize

import "context"

// A field read once is at the mercy of one resampling: chi_sim confuses
// 姜/净 or 鑫/春 at one line height and not at another. voteRead reads a
// zone at several line heights and keeps the text most of them agree on
// (the first two agreeing settle it without a third read); a tie goes to
// the most confident reading.
func (p *Engines) voteRead(ctx context.Context, doc *rgb, scale float64, z zone, ch channel, spec fieldSpec, pxs []int,
	norm func(reading) string) (reading, string, error) {
	type cand struct {
		r     reading
		text  string
		votes int
	}
	var cands []*cand
	for i, px := range pxs {
		if err := ctx.Err(); err != nil {
			return reading{}, "", err
		}
		fi := fieldImageAt(doc, scale, z, ch, px)
		if fi == nil {
			if i == 0 {
				return reading{}, "", nil // no ink here at all
			}
			continue
		}
		r, err := p.read(fi, spec)
		if err != nil {
			return reading{}, "", err
		}
		t := norm(r)
		found := false
		for _, c := range cands {
			if c.text == t {
				c.votes++
				found = true
				if c.r.conf() < r.conf() {
					c.r = r
				}
			}
		}
		if !found {
			cands = append(cands, &cand{r: r, text: t, votes: 1})
		}
		if i == 1 && len(cands) == 1 && t != "" {
			break // two reads agree
		}
	}
	if len(cands) == 0 {
		return reading{}, "", nil
	}
	best := cands[0]
	for _, c := range cands[1:] {
		if c.votes > best.votes || c.votes == best.votes && c.r.conf() > best.r.conf() {
			best = c
		}
	}
	return best.r, best.text, nil
}

// namePx are the line heights a name is read at: chiPx first.
var namePx = []int{chiPx, 26, 36}
