module github.com/sjzamr/smartreg/tests

go 1.26

replace (
	github.com/sjzamr/smartreg/events => ../events
	github.com/sjzamr/smartreg/shared => ../shared
)
