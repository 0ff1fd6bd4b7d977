from rollgen.cli import main

raise SystemExit(main())
