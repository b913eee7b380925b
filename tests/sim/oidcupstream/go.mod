module github.com/sjzamr/smartreg/tests/sim/oidcupstream

go 1.26.0
