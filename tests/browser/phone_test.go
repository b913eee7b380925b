package browser

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sjzamr/smartreg/functions/activities"
	"github.com/sjzamr/smartreg/functions/laws"
)

// phoneTab is a tab the size of a phone, as the public opens the H5 pages.
func phoneTab(t *testing.T, s *stack, name string) *page {
	t.Helper()
	p := openPage(t, newBrowser(t), s.url, name)
	p.run("phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(3)))
	return p
}

// FP-68–75: on the public phone page, "广告法第九条" finds the article of
// the in-force version, and a plain question finds it too; the link opens
// the article in the full text.
func TestLawSearchOnThePhonePage(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	if err := s.p.Laws.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	text := "第一章 总则\n第一条 为了规范广告活动，保护消费者的合法权益，促进广告业的健康发展，维护社会经济秩序，制定本法。\n" +
		"第二章 广告内容准则\n第九条 广告不得有下列情形：\n（一）使用或者变相使用中华人民共和国的国旗、国歌、国徽，军旗、军歌、军徽；\n" +
		"（二）使用或者变相使用国家机关、国家机关工作人员的名义或者形象；\n（三）使用“国家级”、“最高级”、“最佳”等用语；\n"
	for _, v := range []struct{ pub, eff string }{{"2015-04-24", "2015-09-01"}, {"2021-04-29", "2021-04-29"}} {
		if _, err := s.p.Laws.CreateDocument(ctx, laws.Actor{Username: "test"}, laws.DocumentInput{Title: "中华人民共和国广告法", Nature: "法律",
			Body: "全国人民代表大会常务委员会", PublishedOn: v.pub, EffectiveOn: v.eff, Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	p := phoneTab(t, s, "public")
	p.run("open the phone page", chromedp.Navigate(s.url+"/laws/m/"))
	p.typeInto("the search box", `document.querySelector('#q')`, "广告法第九条")
	p.click("search", `document.querySelector('form.s button')`)
	p.waitFor("an article hit", `document.querySelector('#hits .hit a')`)
	if got := p.text(`txt(document.querySelector('#hits .hit a'))`); got != "广告法 第九条" {
		p.fail("first hit %q", got)
	}
	if got := p.text(`txt(document.querySelector('#hits .hit .tag'))`); got != "现行有效" {
		p.fail("the first hit's version is %q, want the in-force one", got)
	}
	// A question in plain words.
	p.typeInto("the search box", `document.querySelector('#q')`, "广告里能不能说是国家级最佳产品")
	p.click("search", `document.querySelector('form.s button')`)
	p.waitFor("hits for the question", `document.querySelector('#hits .hit em')`)
	if got := p.text(`txt(document.querySelector('#hits .hit a'))`); got != "广告法 第九条" {
		p.fail("the question's first hit %q", got)
	}
	p.click("the article", `document.querySelector('#hits .hit a')`)
	p.waitFor("the full text at the article", `location.hash.startsWith('#a') && document.querySelector(location.hash)`)
	if got := p.text(`txt(document.querySelector(location.hash))`); !strings.Contains(got, "“国家级”、“最高级”、“最佳”") {
		p.fail("the target article reads %q", got)
	}
	p.shot("law-article")
}

// FP-76, 77: sign-ups on the phone page fill the places, then go on to the
// waiting list, in order.
func TestActivitySignupFillsThenWaits(t *testing.T) {
	s := startStack(t)
	ctx := context.Background()
	start := time.Now().Add(72 * time.Hour)
	a, err := s.p.Activities.Create(ctx, activities.Actor{Username: "test"}, activities.ActivityInput{Theme: "食品安全开放日", Place: "裕华区中央厨房",
		Organiser: "石家庄市市场监督管理局", StartsAt: start, EndsAt: start.Add(2 * time.Hour), Capacity: 2, Waitlist: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.p.Activities.SetStatus(ctx, activities.Actor{Username: "reviewer"}, a.ID, "published"); err != nil {
		t.Fatal(err)
	}
	p := phoneTab(t, s, "public")
	url := s.url + "/activities/m/" + strconv.FormatInt(a.ID, 10)
	for i, want := range []string{"报名成功", "报名成功", "名额已满，已登记候补（第 1 位）", "名额已满，已登记候补（第 2 位）"} {
		p.run("open the activity", chromedp.Navigate(url))
		p.waitFor("the sign-up form", `document.querySelector('#signup form')`)
		p.typeInto("name", `document.querySelector('#name')`, "报名人"+strconv.Itoa(i+1))
		p.typeInto("phone", `document.querySelector('#phone')`, "1390000000"+strconv.Itoa(i+1))
		p.click("submit", `document.querySelector('#submit')`)
		p.waitFor("the result", `document.querySelector('#result')`)
		if got := p.text(`txt(document.querySelector('#result p'))`); got != want {
			p.fail("sign-up %d: %q, want %q", i+1, got, want)
		}
	}
	p.run("open the activity", chromedp.Navigate(url))
	p.waitFor("the page", `document.querySelector('#theme')`)
	if got := p.text(`txt(document.querySelector('#places'))`); got != "2 人，已报名 2 人，候补 2 人" {
		p.fail("places line %q", got)
	}
	if p.text(`document.querySelector('#signup') ? 'open' : txt(document.querySelector('.tag.closed'))`) != "报名已结束" {
		p.fail("sign-up still offered with places and waiting list full")
	}
	p.shot("activity-full")
}
