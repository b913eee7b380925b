module github.com/sjzamr/smartreg/infra/knative

go 1.26

replace (
	github.com/sjzamr/smartreg/events => ../../events
	github.com/sjzamr/smartreg/shared => ../../shared
)
