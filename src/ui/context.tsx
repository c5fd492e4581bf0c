// React binding for the per-run vanilla store: a context plus zustand's useStore.
// Selectors that build objects must go through useUiShallow (useShallow), or every store change
// re-renders the component.
import React, { createContext, useContext, type ReactNode } from 'react';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import type { Intents } from './intents.js';
import type { UiState, UiStore } from './store.js';

const StoreContext = createContext<UiStore | null>(null);
const IntentsContext = createContext<Intents | null>(null);

export function UiProvider(props: { store: UiStore; intents: Intents; children: ReactNode }): React.JSX.Element {
  return (
    <StoreContext.Provider value={props.store}>
      <IntentsContext.Provider value={props.intents}>{props.children}</IntentsContext.Provider>
    </StoreContext.Provider>
  );
}

export function useUiStore(): UiStore {
  const s = useContext(StoreContext);
  if (!s) throw new Error('useUi* used outside <UiProvider>');
  return s;
}

export function useUi<T>(selector: (s: UiState) => T): T {
  return useStore(useUiStore(), selector);
}

export function useUiShallow<T>(selector: (s: UiState) => T): T {
  return useStore(useUiStore(), useShallow(selector));
}

export function useIntents(): Intents {
  const i = useContext(IntentsContext);
  if (!i) throw new Error('useIntents used outside <UiProvider>');
  return i;
}
