import MASHControl

MashCtl.main()
