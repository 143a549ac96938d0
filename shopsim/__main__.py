from shopsim.cli import main

main()
