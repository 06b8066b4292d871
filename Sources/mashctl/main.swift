import MASHControl

await MashCtl.launch()
