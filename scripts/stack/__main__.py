from scripts.stack.commands import main

main()
