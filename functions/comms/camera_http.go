package comms

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/sjzamr/smartreg/shared/codes"
	"github.com/sjzamr/smartreg/shared/errs"
	"github.com/sjzamr/smartreg/shared/httpx"
)

// CameraInput adds a device to the catalogue.
type CameraInput struct {
	Name     string   `json:"name"`
	Kind     string   `json:"kind"`
	Source   string   `json:"source"`
	DeviceID string   `json:"device_id"`
	Address  string   `json:"address"`
	Lat      *float64 `json:"lat"`
	Lng      *float64 `json:"lng"`
	District string   `json:"district"`
	Township string   `json:"township"`
}

// gbDeviceRE is a GB/T 28181 device code: 20 digits (centre, industry,
// type, serial).
var gbDeviceRE = regexp.MustCompile(`^[0-9]{20}$`)

func (f *Function) addCamera(r *http.Request, in CameraInput) (any, error) {
	in.Name, in.Source, in.DeviceID = strings.TrimSpace(in.Name), strings.TrimSpace(in.Source), strings.TrimSpace(in.DeviceID)
	switch {
	case in.Name == "" || utf8.RuneCountInString(in.Name) > 100:
		return nil, fieldErr("name", "请填写设备名称（不超过 100 字）")
	case in.Kind != "rtsp" && in.Kind != "gb28181" && in.Kind != "http" && in.Kind != "test":
		return nil, fieldErr("kind", "设备类型只能是 rtsp、gb28181、http 或 test（模拟设备）")
	case in.Kind == "gb28181" && !gbDeviceRE.MatchString(in.DeviceID):
		return nil, fieldErr("device_id", "国标设备编码应为 20 位数字")
	case (in.Lat == nil) != (in.Lng == nil):
		return nil, fieldErr("lat", "经纬度须同时提供")
	}
	if err := checkSource(in.Kind, in.Source); err != nil {
		return nil, err
	}
	if err := codes.CheckDistrict(in.District); err != nil {
		return nil, fieldErr("district", "区县代码不正确")
	}
	if in.Township != "" {
		if err := codes.CheckTownship(in.District, in.Township); err != nil {
			return nil, fieldErr("township", "乡镇街道代码不正确")
		}
	}
	p := principal(r)
	if !p.Scope.Allows(in.District, in.Township) {
		return nil, errs.New(errs.Forbidden, "只能登记本辖区的设备")
	}
	c, err := f.AddCamera(r.Context(), p, httpx.ClientIP(r), Camera{Name: in.Name, Kind: in.Kind, Source: in.Source, DeviceID: in.DeviceID,
		Address: strings.TrimSpace(in.Address), Lat: in.Lat, Lng: in.Lng, District: in.District, Township: in.Township})
	if err != nil {
		return nil, err
	}
	return httpx.Created(c, "/comms/v1/cameras/"+c.ID), nil
}

func (f *Function) listCameras(r *http.Request) (any, error) {
	items, err := f.Cameras(r.Context(), principal(r).Scope)
	return map[string]any{"items": items}, err
}

func (f *Function) getCamera(r *http.Request) (any, error) {
	return f.CameraByID(r.Context(), principal(r).Scope, r.PathValue("id"))
}

var segmentRE = regexp.MustCompile(`^seg-[0-9]{5}\.ts$`)

// cameraHLS serves the live view: index.m3u8 starts the camera's session
// (or keeps it), segments come from its directory.
func (f *Function) cameraHLS(w http.ResponseWriter, r *http.Request) {
	c, err := f.CameraByID(r.Context(), principal(r).Scope, r.PathValue("id"))
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	file := r.PathValue("file")
	var dir string
	switch {
	case file == "index.m3u8":
		ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
		defer cancel()
		if dir, err = f.hls.playlist(ctx, c); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
	case segmentRE.MatchString(file):
		var ok bool
		if dir, ok = f.hls.dirOf(c.ID); !ok {
			httpx.Fail(w, r, errs.New(errs.NotFound, "直播未开始或已结束，请重新打开"))
			return
		}
		w.Header().Set("Content-Type", "video/mp2t")
	default:
		httpx.Fail(w, r, errs.New(errs.NotFound, "文件不存在"))
		return
	}
	b, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		httpx.Fail(w, r, errs.Wrap(errs.NotFound, "该片段已过期，请刷新", err))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

func (f *Function) snapshot(r *http.Request) (any, error) {
	p := principal(r)
	c, err := f.CameraByID(r.Context(), p.Scope, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	m, err := f.Capture(r.Context(), p, httpx.ClientIP(r), c, "snapshot", 0)
	if err != nil {
		return nil, err
	}
	return httpx.Created(m, "/comms/v1/camera-media/"+m.ID), nil
}

// ClipInput asks for a clip of seconds from now.
type ClipInput struct {
	Seconds int `json:"seconds"`
}

func (f *Function) clip(r *http.Request, in ClipInput) (any, error) {
	if in.Seconds < 1 || in.Seconds > 120 {
		return nil, fieldErr("seconds", "片段时长应为 1–120 秒")
	}
	p := principal(r)
	c, err := f.CameraByID(r.Context(), p.Scope, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	m, err := f.Capture(r.Context(), p, httpx.ClientIP(r), c, "clip", in.Seconds)
	if err != nil {
		return nil, err
	}
	return httpx.Created(m, "/comms/v1/camera-media/"+m.ID), nil
}

func (f *Function) listCameraMedia(r *http.Request) (any, error) {
	c, err := f.CameraByID(r.Context(), principal(r).Scope, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	items, err := f.CameraMediaOf(r.Context(), c)
	return map[string]any{"items": items}, err
}

func (f *Function) cameraMediaFile(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	var ms []CameraMedia
	var err error
	if _, perr := uuid.Parse(id); perr == nil {
		ms, err = f.cameraMedia(r.Context(), "id = $1::uuid", id)
	}
	if err == nil && len(ms) == 0 {
		err = errs.New(errs.NotFound, "文件不存在")
	}
	if err == nil {
		// The media's device decides the scope.
		_, err = f.CameraByID(r.Context(), principal(r).Scope, ms[0].CameraID)
	}
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	f.serveObject(w, r, ms[0].key, ms[0].Size, ms[0].ContentType, ms[0].CreatedAt)
}
