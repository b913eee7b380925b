module github.com/sjzamr/smartreg/tests/cardgen

go 1.26.4

require (
	github.com/sjzamr/smartreg/shared v0.0.0-00010101000000-000000000000
	golang.org/x/image v0.48.0
)

require (
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)

replace github.com/sjzamr/smartreg/shared => ../../shared
