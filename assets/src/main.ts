import { createApp } from 'vue'
import 'vant/es/dialog/style'
import './styles.css'
import App from './App.vue'
import { router } from './router'

createApp(App).use(router).mount('#app')
