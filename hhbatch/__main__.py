from hhbatch.cli import main

raise SystemExit(main())
