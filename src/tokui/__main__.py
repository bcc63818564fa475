from tokui.cli import main

main()
