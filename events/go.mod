module github.com/sjzamr/smartreg/events

go 1.26
