from musewave.cli import main

main()
