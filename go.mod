module github.com/peerdns/peerdns

go 1.26
