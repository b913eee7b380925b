module github.com/sjzamr/smartreg/tests/sim/telecom

go 1.26.0
