package laws

import (
	"cmp"
	"slices"
	"time"
)

// version is what a document's status depends on.
type version struct {
	ID          int64
	PublishedOn *time.Time
	EffectiveOn *time.Time
	Repealed    bool
}

// verdict is a version's computed status, why, and the family's current
// version it points to.
type verdict struct {
	Status    string
	Reason    string
	CurrentID int64
}

// judge computes the status of each version of one law (FP-67): the
// newest version in force by today is 现行有效 and every version points to
// it; older versions are 已修改; a version whose effective date is still
// to come is 尚未生效 (the one before it stays in force until then); when
// the newest version in force is repealed, the law is 已废止 in every
// version. The corpus's "expired" flag marks superseded versions too, so
// it counts as repeal only on the newest one.
func judge(vs []version, today time.Time) map[int64]verdict {
	out := make(map[int64]verdict, len(vs))
	if len(vs) == 0 {
		return out
	}
	s := slices.Clone(vs)
	at := func(v version) time.Time {
		switch {
		case v.EffectiveOn != nil:
			return *v.EffectiveOn
		case v.PublishedOn != nil:
			return *v.PublishedOn
		}
		return time.Time{}
	}
	slices.SortStableFunc(s, func(a, b version) int {
		if c := at(a).Compare(at(b)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	current := -1
	for i, v := range s {
		if !at(v).After(day) {
			current = i
		}
	}
	if current < 0 { // every version is still to come
		last := s[len(s)-1].ID
		for _, v := range s {
			out[v.ID] = verdict{StatusPending, "将于 " + at(v).Format(time.DateOnly) + " 起施行", last}
		}
		return out
	}
	cur := s[current]
	for i, v := range s {
		switch {
		case i > current:
			out[v.ID] = verdict{StatusPending, "将于 " + at(v).Format(time.DateOnly) + " 起施行", cur.ID}
		case cur.Repealed:
			reason := "已废止"
			if i < current {
				reason = "后续版本（" + at(cur).Format(time.DateOnly) + "）已废止"
			}
			out[v.ID] = verdict{StatusRepealed, reason, cur.ID}
		case i < current:
			out[v.ID] = verdict{StatusAmended, "已被 " + at(cur).Format(time.DateOnly) + " 施行的版本修改", cur.ID}
		default:
			reason := "现行版本"
			if i+1 < len(s) {
				reason = "现行版本；新版本将于 " + at(s[i+1]).Format(time.DateOnly) + " 起施行"
			}
			out[v.ID] = verdict{StatusInForce, reason, cur.ID}
		}
	}
	return out
}

// beijing is the calendar statuses follow.
var beijing = time.FixedZone("CST", 8*3600)

// today is the date in Beijing.
func today(now time.Time) time.Time {
	t := now.In(beijing)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}
