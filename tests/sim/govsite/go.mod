module github.com/sjzamr/smartreg/tests/sim/govsite

go 1.26.0
